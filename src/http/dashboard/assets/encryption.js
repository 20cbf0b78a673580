// Keeps the re-encryption job's progress bar current: polls the job once a second until it
// ends, and shows its rate and the time left.
const section = document.querySelector('[data-job]')

function render(job) {
  const bar = document.getElementById('job-progress')
  const percent = job.total > 0 ? Math.floor((job.done / job.total) * 100) : 100
  bar.max = job.total || 1
  bar.value = job.total ? job.done : 1
  bar.textContent = `${percent} %`
  document.querySelector('label[for="job-progress"]').textContent = `Progress: ${percent} %`
  document.getElementById('job-facts').textContent =
    `${job.status}: ${job.done} of ${job.total} data keys, ${job.failed} failed`
  const eta = document.getElementById('job-eta')
  if (job.rate > 0 && job.etaSeconds !== null) {
    eta.textContent = `${job.rate.toFixed(1)} data keys/s, about ${Math.ceil(job.etaSeconds)} s left`
  } else {
    eta.textContent = ''
  }
  section.dataset.status = job.status
}

async function poll() {
  const response = await fetch(`/encryption/jobs/${encodeURIComponent(section.dataset.job)}`, {
    headers: { accept: 'application/json' },
    cache: 'no-store',
  })
  if (!response.ok) return
  const job = await response.json()
  render(job)
  if (job.status === 'pending' || job.status === 'running') setTimeout(poll, 1000)
}

if (section && ['pending', 'running'].includes(section.dataset.status)) setTimeout(poll, 500)
