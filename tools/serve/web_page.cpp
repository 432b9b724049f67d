// Every stream live (its annotated MJPEG), its fps and counts, the recent
// events, and a drop zone that posts an image to /v1/detect and draws the
// boxes it returns. With --token-file, the page asks for the token once and
// sends it (a header for fetch, ?token= where a browser cannot set one).
#include "web_page.hpp"

namespace dusk::serve {

const std::string_view kWebPage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dusk serve</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;background:#111;color:#eee}
h1{font-size:1.3em} .streams{display:flex;flex-wrap:wrap;gap:1em}
.stream{background:#222;padding:.6em;border-radius:6px} .stream img{max-width:480px;display:block}
.events{font:12px monospace;max-height:8em;overflow:auto;color:#9c9}
#drop{border:2px dashed #666;padding:1.5em;margin:1em 0;text-align:center}
#drop.over{border-color:#6c6} canvas{max-width:720px;display:block;margin-top:.5em}
.error{color:#f77}
</style></head><body>
<h1>dusk serve <span id="model"></span></h1>
<div class="streams" id="streams"></div>
<div id="drop">Drop an image here (or <input type="file" id="file" accept="image/*">) to detect on it</div>
<div id="result"></div><canvas id="canvas"></canvas>
<script>
const token = new URLSearchParams(location.search).get('token') || '';
const headers = token ? {Authorization: 'Bearer ' + token} : {};
const withToken = url => token ? url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : url;
async function json(url) { const r = await fetch(url, {headers}); if (!r.ok) throw new Error(url + ': ' + r.status); return r.json(); }
const boxes = {};
async function start() {
  try {
    const m = await json('/v1/models');
    document.getElementById('model').textContent = `${m.cfg} (${m.input.width}x${m.input.height}, ${m.classes} classes, ${m.precision})`;
  } catch (e) { document.getElementById('model').textContent = e.message; }
  const streams = await json('/v1/streams');
  const holder = document.getElementById('streams');
  for (const s of streams) {
    const div = document.createElement('div'); div.className = 'stream';
    div.innerHTML = `<b>${s.name}</b> <span class="stats"></span><img alt="${s.name}"><div class="events"></div>`;
    holder.appendChild(div);
    div.querySelector('img').src = withToken(`/v1/streams/${encodeURIComponent(s.name)}/mjpeg`);
    const events = div.querySelector('.events');
    const source = new EventSource(withToken(`/v1/streams/${encodeURIComponent(s.name)}/events`));
    source.onmessage = m => {
      const f = JSON.parse(m.data);
      boxes[s.name] = f;
      for (const e of (f.events || [])) {
        const line = document.createElement('div');
        line.textContent = `${f.frame_id}: ${e.type} ${e.line || e.zone} #${e.track_id}${e.direction ? ' ' + e.direction : ''}`;
        events.prepend(line);
        while (events.children.length > 50) events.lastChild.remove();
      }
    };
  }
  setInterval(async () => {
    try {
      for (const s of await json('/v1/streams')) {
        const div = [...holder.children].find(d => d.querySelector('img').alt === s.name);
        const f = boxes[s.name];
        if (div) div.querySelector('.stats').textContent =
          `${s.state}, ${s.fps} fps, ${s.frames_processed} frames, ${s.dropped} dropped, ${f && f.objects ? f.objects.length : 0} objects`;
      }
    } catch (e) {}
  }, 1000);
}
async function detect(file) {
  const result = document.getElementById('result');
  result.textContent = 'detecting...'; result.className = '';
  const r = await fetch('/v1/detect', {method: 'POST', body: file, headers});
  const answer = await r.json();
  if (!r.ok) { result.textContent = answer.error; result.className = 'error'; return; }
  const image = await createImageBitmap(file);
  const canvas = document.getElementById('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const g = canvas.getContext('2d'); g.drawImage(image, 0, 0);
  g.lineWidth = Math.max(2, image.width / 300); g.font = `${Math.max(12, image.width / 40)}px sans-serif`;
  for (const o of answer.objects) {
    const c = o.relative_coordinates;
    const x = (c.center_x - c.width / 2) * image.width, y = (c.center_y - c.height / 2) * image.height;
    g.strokeStyle = g.fillStyle = `hsl(${(o.class_id * 47) % 360},90%,55%)`;
    g.strokeRect(x, y, c.width * image.width, c.height * image.height);
    g.fillText(`${o.name} ${Math.round(o.confidence * 100)}%`, x + 3, Math.max(14, y - 4));
  }
  result.textContent = `${answer.objects.length} objects`;
  result.dataset.objects = answer.objects.length;
}
const drop = document.getElementById('drop');
drop.ondragover = e => { e.preventDefault(); drop.classList.add('over'); };
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = e => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) detect(e.dataTransfer.files[0]); };
document.getElementById('file').onchange = e => { if (e.target.files[0]) detect(e.target.files[0]); };
start();
</script></body></html>
)html";

}  // namespace dusk::serve
