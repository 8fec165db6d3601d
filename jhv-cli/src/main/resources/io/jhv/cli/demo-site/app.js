// The demo site of ./hv httpd: calls the demo API with fetch and shows what came back.
'use strict';

const out = document.getElementById('out');

async function show(response, target) {
  const head = `${response.status} ${response.statusText}\n` +
      `content-type: ${response.headers.get('content-type')}\n\n`;
  target.textContent = head + await response.text();
}

for (const button of document.querySelectorAll('button[data-url]')) {
  button.addEventListener('click', async () => {
    const init = { method: button.dataset.method };
    if (init.method === 'POST') {
      init.body = JSON.stringify({ hello: 'jhv', at: new Date().toISOString() });
      init.headers = { 'Content-Type': 'application/json' };
    }
    try {
      await show(await fetch(button.dataset.url, init), out);
    } catch (e) {
      out.textContent = 'request failed: ' + e;
    }
  });
}

document.getElementById('upload').addEventListener('submit', async (event) => {
  event.preventDefault();
  const target = document.getElementById('upload-out');
  try {
    await show(await fetch('/upload', { method: 'POST', body: new FormData(event.target) }), target);
  } catch (e) {
    target.textContent = 'upload failed: ' + e;
  }
});
