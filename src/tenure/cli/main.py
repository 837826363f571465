"""The Typer application: one module per command group."""

from __future__ import annotations

import logging
import os

import typer

from tenure.cli import (
    campaigns,
    demo,
    experiments,
    funnels,
    imports,
    jobs,
    keys,
    kpis,
    loyalty,
    paths,
    predict,
    profiles,
    promotions,
    recommend,
    referrals,
    report,
    retention,
    review,
    segments,
    setup,
    simulate,
    users,
)

app = typer.Typer(
    name="tenure",
    help="Tenure: the retention loop on your shop's own data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("init")(setup.init)
app.command("serve")(setup.serve)
app.command("flush")(setup.flush)
app.command("status")(setup.status)
app.command("simulate")(simulate.simulate)
app.command("demo")(demo.demo)
app.command("retention")(retention.retention)
app.command("report")(report.report)
app.command("kpis")(kpis.kpis)
app.command("cac")(kpis.acquisition)
app.command("funnel")(funnels.funnel)
app.command("paths")(paths.paths)
app.command("profile")(profiles.profile)
app.command("rfm")(segments.rfm)
app.command("lifecycle")(segments.lifecycle)
app.add_typer(imports.app, name="import")
app.add_typer(keys.app, name="keys")
app.add_typer(predict.app, name="predict")
app.add_typer(jobs.app, name="jobs")
app.command("worker")(jobs.worker)
app.add_typer(segments.app, name="segments")
app.add_typer(segments.tags_app, name="tags")
app.add_typer(loyalty.app, name="loyalty")
app.add_typer(promotions.coupons_app, name="coupons")
app.add_typer(promotions.promotions_app, name="promotions")
app.add_typer(referrals.app, name="referrals")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(experiments.app, name="experiments")
app.add_typer(users.app, name="users")
app.add_typer(recommend.app, name="recommend")
app.command("review")(review.review)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose or os.environ.get("TENURE_VERBOSE") else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
