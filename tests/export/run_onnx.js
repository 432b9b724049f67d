// Runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU execution
// provider) on one float32 input and writes every output's raw data.
//   node run_onnx.js MODEL.onnx INPUT.f32 N C H W OUT_DIR [OPTIMIZED.onnx]
// OPTIMIZED.onnx: where to write the model as ONNX Runtime rewrote it (which
// kernels it chose: QLinearConv for an int8 export).
// Outputs go to OUT_DIR/<name>.f32 (float32) or <name>.i64 (int64).
// Prints one JSON object: {"outputs": {"name": {"dims": [...], "type": "float32"}}}.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, n, c, h, w, outDir, optimized] = process.argv.slice(2);
  const options = { executionProviders: ['cpu'], intraOpNumThreads: 2 };
  if (optimized) options.optimizedModelFilePath = optimized;
  const session = await ort.InferenceSession.create(model, options);
  const raw = fs.readFileSync(input);
  const data = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const dims = [n, c, h, w].map(Number);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  const results = await session.run(feeds);
  const outputs = {};
  for (const name of session.outputNames) {
    const tensor = results[name];
    const extension = { float32: '.f32', int64: '.i64' }[tensor.type];
    if (!extension) throw new Error(`output ${name} has type ${tensor.type}, which this runner does not write`);
    const bytes = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    fs.writeFileSync(path.join(outDir, name + extension), bytes);
    outputs[name] = { dims: tensor.dims, type: tensor.type };
  }
  console.log(JSON.stringify({ outputs }));
}

main().catch((error) => {
  console.error('run_onnx: ' + error.message);
  process.exit(1);
});
