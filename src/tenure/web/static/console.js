// Draws the Plotly figures the server embeds as JSON data blocks (no inline scripts: see the CSP),
// on first load and in every fragment htmx swaps in.
(function () {
  function draw(root) {
    root.querySelectorAll("div.chart").forEach(function (box) {
      if (box.dataset.drawn) return;
      var data = box.querySelector("script[type='application/json']");
      if (!data || !window.Plotly) return;
      var fig = JSON.parse(data.textContent);
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
