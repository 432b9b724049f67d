// Times an ONNX model in ONNX Runtime (onnxruntime-node, CPU execution
// provider, all graph optimisations) on a seeded random input.
//   node bench/ort_bench.js MODEL.onnx C H W THREADS ITERS WARMUP [BATCH]
// Prints {"median_ms": ..., "min_ms": ..., "max_ms": ...}, per run of BATCH
// images (default 1; above 1 the model needs a dynamic batch dimension:
// dusk export --batch dynamic).
const ort = require('onnxruntime-node');

async function main() {
  const [model, c, h, w, threads, iters, warmup, batch = '1'] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const dims = [Number(batch), Number(c), Number(h), Number(w)];
  const data = new Float32Array(dims.reduce((a, b) => a * b));
  let seed = 1;
  for (let i = 0; i < data.length; ++i) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = seed / 2147483648;
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  for (let i = 0; i < Number(warmup); ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(iters); ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ median_ms: times[Math.floor(times.length / 2)], min_ms: times[0],
                               max_ms: times[times.length - 1] }));
}

main().catch((error) => {
  console.error('ort_bench: ' + error.message);
  process.exit(1);
});
