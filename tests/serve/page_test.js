// The page of dusk serve in Debian's headless Chromium (driven by
// playwright-core): a stream's live image shows, and an image chosen in the
// drop zone comes back with boxes drawn.
//   node page_test.js BASE_URL IMAGE SCREENSHOT
const { chromium } = require('playwright-core');

(async () => {
  const [base, image, screenshot] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    await page.goto(base + '/', { timeout: 20000 });
    // A live stream: its <img> decodes frames of the source's size.
    await page.waitForFunction(() => {
      const img = document.querySelector('.stream img');
      return img && img.naturalWidth > 0;
    }, null, { timeout: 20000 });
    const size = await page.evaluate(() => { const i = document.querySelector('.stream img'); return [i.naturalWidth, i.naturalHeight]; });
    await page.waitForFunction(() => /fps/.test(document.querySelector('.stream .stats').textContent), null, { timeout: 10000 });
    // The drop zone: post an image, boxes come back.
    await page.setInputFiles('#file', image);
    await page.waitForFunction(() => document.getElementById('result').dataset.objects !== undefined, null, { timeout: 20000 });
    const objects = Number(await page.evaluate(() => document.getElementById('result').dataset.objects));
    const painted = await page.evaluate(() => {
      const c = document.getElementById('canvas');
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] > 200 && data[i + 1] < 100) coloured++;  // box strokes
      return [c.width, c.height, coloured];
    });
    await page.screenshot({ path: screenshot });
    console.log(JSON.stringify({ stream: size, objects, canvas: painted, errors }));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(e); process.exit(1); });
