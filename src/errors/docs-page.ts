import { errorCatalog, statusOfEntry } from './catalog.ts';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The /docs/errors page, generated from the catalog: one section per code, anchored by the code. */
export function renderErrorDocs(): string {
  const sections = Object.entries(errorCatalog)
    .map(([code, entry]) => {
      const status = statusOfEntry(entry);
      const retryable = 'retryable' in entry && entry.retryable ? 'yes' : 'no';
      return `<section id="${code}">
  <h2><a href="#${code}">${code}</a></h2>
  <p><code>${entry.type}</code> · HTTP ${status} · retryable: ${retryable}</p>
  <p>${escapeHtml(entry.message)}</p>
  <p><strong>What to do:</strong> ${escapeHtml(entry.suggestion)}</p>
</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Error codes · Feedback gateway</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}section{border-top:1px solid #ddd;padding:.5rem 0}h2{font-size:1.1rem;margin:.5rem 0}code{background:#f4f4f4;padding:0 .25rem}</style>
</head>
<body>
<h1>Error codes</h1>
<p>Every error response carries a <code>type</code> (which fixes the HTTP status, except that <code>SERVICE_OVERLOADED</code> answers 503) and a stable <code>code</code> listed below.</p>
${sections}
</body>
</html>
`;
}
