// Draws the Plotly figures the server embeds as JSON in data-figure attributes (no inline scripts: see the CSP),
// on first load and in every fragment htmx swaps in.
(function () {
  function draw(root) {
    root.querySelectorAll("div.chart").forEach(function (box) {
      if (box.dataset.drawn) return;
      if (!box.dataset.figure || !window.Plotly) return;
      var fig = JSON.parse(box.dataset.figure);
      var target = document.createElement("div");
      box.appendChild(target);
      box.dataset.drawn = "1";
      window.Plotly.newPlot(target, fig.data, fig.layout, {displaylogo: false, responsive: true});
    });
  }
  // A button with data-confirm asks before its form is sent (finishing a campaign, stopping an
  // experiment, rejecting a referral): an inline onclick would break the CSP.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    if (window.htmx) window.htmx.onLoad(draw);
  });
})();
