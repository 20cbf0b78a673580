// Draws each usage chart with uPlot from the numbers the page carries in data-usage (the same
// numbers are in the table below each chart, which is what assistive technology reads).
const COLORS = [
  '#1f4fd1',
  '#b3261e',
  '#1b7f3b',
  '#8a4baf',
  '#c76b00',
  '#00838f',
  '#5d4037',
  '#455a64',
]

for (const box of document.querySelectorAll('[data-usage]')) {
  const { days, series } = JSON.parse(box.dataset.usage)
  const xs = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000)
  const draw = () => {
    box.textContent = ''
    // uPlot is the global its own script tag (loaded before this one) defines.
    new window.uPlot(
      {
        width: Math.max(280, box.clientWidth),
        height: 240,
        scales: { x: { time: true } },
        series: [
          { label: 'Day' },
          ...series.map((s, i) => ({
            label: s.name,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            value: (_, v) => (v == null ? '' : String(v)),
          })),
        ],
        axes: [{}, { label: 'Reads' }],
      },
      [xs, ...series.map((s) => s.counts)],
      box,
    )
  }
  draw()
  let resized
  window.addEventListener('resize', () => {
    clearTimeout(resized)
    resized = setTimeout(draw, 200)
  })
}
