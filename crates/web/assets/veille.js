// veille — small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so screen reader and keyboard users hear what to fix.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});

// Exports (decision 91): the "Exporter" form downloads through fetch so the page
// can show how far the download is — lines received of the total the server
// announces (X-Export-Rows) for a CSV, bytes of the announced length for an
// XLSX. Without this script (or without streams) the form is a plain download.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-export")) return;
  if (!window.fetch || !window.ReadableStream || !window.URL || !URL.createObjectURL) return;
  event.preventDefault();
  const box = form.querySelector(".export-progress");
  const bar = box.querySelector("progress");
  const out = box.querySelector("output");
  const fill = (text, values) => text.replace(/%\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  const button = form.querySelector("button[type=submit]");
  box.hidden = false;
  bar.removeAttribute("value");
  out.textContent = form.dataset.preparing;
  button.disabled = true;
  try {
    const url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok || !response.body) throw new Error(String(response.status));
    const rows = Number(response.headers.get("X-Export-Rows") || "0");
    const length = Number(response.headers.get("Content-Length") || "0");
    const csv = (response.headers.get("Content-Type") || "").startsWith("text/csv");
    const reader = response.body.getReader();
    const chunks = [];
    let bytes = 0;
    let lines = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      if (csv) {
        for (const b of value) if (b === 10) lines += 1;
        const got = Math.max(0, lines - 1); // the header line
        bar.max = Math.max(rows, 1);
        bar.value = Math.min(got, rows);
        out.textContent = fill(form.dataset.rows, { done: got, total: rows });
      } else if (length > 0) {
        bar.max = length;
        bar.value = bytes;
        out.textContent = fill(form.dataset.bytes, { done: bytes, total: length });
      }
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "export";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob(chunks, { type: response.headers.get("Content-Type") || "" }));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    bar.max = 1;
    bar.value = 1;
    out.textContent = fill(form.dataset.done, { total: rows });
  } catch (_) {
    out.textContent = form.dataset.failed;
  } finally {
    button.disabled = false;
  }
});
