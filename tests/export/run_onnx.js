// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU execution
// provider) on one float32 input and writes every output as raw float32.
//   node run_onnx.js MODEL.onnx INPUT.f32 C H W OUT_DIR
// Prints one JSON object: {"outputs": {"name": [dims...]}}.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, c, h, w, outDir] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  const raw = fs.readFileSync(input);
  const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, Number(c), Number(h), Number(w)]) };
  const results = await session.run(feeds);
  const shapes = {};
  for (const name of session.outputNames) {
    const tensor = results[name];
    fs.writeFileSync(path.join(outDir, name + '.f32'), Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    shapes[name] = tensor.dims;
  }
  console.log(JSON.stringify({ outputs: shapes }));
}

main().catch((error) => {
  console.error('run_onnx: ' + error.message);
  process.exit(1);
});
