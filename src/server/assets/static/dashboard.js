// Dashboard charts: reads the JSON data blocks the server wrote and draws them with Chart.js (bundled
// with aupdesk and served from /assets, never a CDN). Data blocks are type=application/json: inert.
(() => {
  if (typeof window.Chart === 'undefined') return;
  const palette = [
    '#0b5cad',
    '#b3261e',
    '#1d7a3a',
    '#9a6200',
    '#6a3d9a',
    '#35618f',
    '#c2185b',
    '#00838f',
    '#5d4037',
    '#546e7a',
  ];
  const read = (id) => {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent || 'null') : null;
  };
  const base = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { position: 'bottom' } },
  };
  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    const spec = read(canvas.getAttribute('data-chart'));
    if (!spec) continue;
    const datasets = spec.series.map((s, i) => ({
      label: s.label,
      data: s.data,
      backgroundColor: palette[i % palette.length],
      borderColor: palette[i % palette.length],
      borderWidth: spec.type === 'line' ? 2 : 0,
      pointRadius: 0,
    }));
    const stacked = spec.stacked === true;
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets },
      options: {
        ...base,
        indexAxis: spec.horizontal ? 'y' : 'x',
        plugins: { legend: { display: datasets.length > 1, position: 'bottom' } },
        scales: {
          x: { stacked, ticks: { autoSkip: true, maxRotation: 0 } },
          y: { stacked, beginAtZero: true },
        },
      },
    });
  }
})();
