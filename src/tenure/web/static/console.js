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
  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    if (window.htmx) window.htmx.onLoad(draw);
  });
})();
