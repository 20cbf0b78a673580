import type { EncryptionView, JobView } from '../../../domain/encryption-view.ts'
import { Page, type PageProps, When } from './layout.tsx'
import { DataTable } from './table.tsx'

type Frame = Pick<PageProps, 'nonce' | 'csrf' | 'organization'>

const PROVIDER_TEXT = {
  platform: 'Platform key',
  'aws-kms': 'Your AWS KMS key',
  raw: 'Raw key material',
}

/** The key-encryption key: current version, history, the re-encryption job, and the change form. */
export function EncryptionPage({ frame, view }: { frame: Frame; view: EncryptionView }) {
  const csrf = frame.csrf ?? ''
  return (
    <Page title="Encryption" section="encryption" {...frame} scripts={['/assets/encryption.js']}>
      <dl class="facts card">
        <dt>Key-encryption key</dt>
        <dd>{`${PROVIDER_TEXT[view.provider]}, version ${view.kekVersion}`}</dd>
        {view.keyId ? (
          <>
            <dt>Key</dt>
            <dd>
              <code>{view.keyId}</code>
            </dd>
          </>
        ) : null}
        <dt>External id (for a role's trust policy)</dt>
        <dd>
          <code>{view.externalId}</code>
        </dd>
        <dt>Data-key cache</dt>
        <dd>{`${view.dataKeyCacheTtlSeconds} s (server: ${view.serverDataKeyCacheTtlSeconds} s)`}</dd>
      </dl>
      {view.job ? <JobProgress job={view.job} /> : null}
      <section class="card" aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        <DataTable
          label="Key-encryption key versions"
          columns={['Version', 'Provider', 'Key', 'Status', 'Created']}
          items={view.versions}
          row={(v) => (
            <tr>
              <td>{v.version}</td>
              <td>{PROVIDER_TEXT[v.provider]}</td>
              <td>{v.keyId ?? ''}</td>
              <td>{v.status}</td>
              <td>
                <When at={v.createdAt} never="" />
              </td>
            </tr>
          )}
        />
      </section>
      <section class="card" aria-labelledby="change-title">
        <h2 id="change-title">Change the key-encryption key</h2>
        <p>
          The new key is checked before anything changes; a background job then re-wraps every data
          key. This asks for your password again if you last entered it more than five minutes ago.
        </p>
        <form method="post" action="/encryption" class="stacked">
          <input type="hidden" name="csrf" value={csrf} />
          <label for="kek-provider">Provider</label>
          <select id="kek-provider" name="provider">
            <option value="platform">Platform key</option>
            <option value="aws-kms">Your AWS KMS key</option>
            <option value="raw">Raw key material</option>
          </select>
          <label for="kek-arn">KMS key ARN (AWS KMS)</label>
          <input id="kek-arn" name="keyArn" autocomplete="off" />
          <label for="kek-role">Role ARN (optional, AWS KMS)</label>
          <input id="kek-role" name="roleArn" autocomplete="off" />
          <label for="kek-replicas">Replica key ARNs (optional, separated by spaces)</label>
          <input id="kek-replicas" name="replicaArns" autocomplete="off" />
          <label for="kek-material">Key material (raw: 32 random bytes, base64)</label>
          <input id="kek-material" name="material" type="password" autocomplete="off" />
          <button type="submit">Change key</button>
        </form>
      </section>
    </Page>
  )
}

/** The job's progress; the page's script keeps it current until the job ends. */
function JobProgress({ job }: { job: JobView }) {
  const percent = job.total > 0 ? Math.floor((job.done / job.total) * 100) : 100
  return (
    <section class="card" aria-labelledby="job-title" data-job={job.id} data-status={job.status}>
      <h2 id="job-title">{`Re-encryption to version ${job.targetVersion}`}</h2>
      <label for="job-progress">{`Progress: ${percent} %`}</label>
      <progress id="job-progress" max={job.total || 1} value={job.total ? job.done : 1}>
        {`${percent} %`}
      </progress>
      <p id="job-facts" aria-live="polite">
        {`${job.status}: ${job.done} of ${job.total} data keys, ${job.failed} failed`}
      </p>
      <p id="job-eta" class="muted small" />
      {job.failures.length > 0 ? (
        <ul id="job-failures">
          {job.failures.map((f) => (
            <li>{`${f.keyId} version ${f.version}: ${f.code}`}</li>
          ))}
        </ul>
      ) : null}
    </section>
  )
}
