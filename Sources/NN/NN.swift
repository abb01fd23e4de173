// MARK: - Module overview
//
// NN: the neural-network core. Float32 tensors, OpenBLAS matrix products, hand-written backward
// passes, and the seed model family: shared embedding + (Bi)LSTM encoder, task heads (softmax,
// sigmoid, per-token softmax, CRF), multi-task weighting, optimizers and safetensors checkpoints.
// It imports only CBLAS and knows nothing of stores or text: inputs are Batch-shaped arrays.
//
// One training step, as the Training module assembles it:
//
//     let layout = try PackedLayout(lengths: batch.lengths, paddedLength: T)   // [B] lengths
//     params.zeroGrad()
//     let x = try embedding.forward(ids: batch.tokenIDs, layout: layout)       // [B×T] → [N, E]
//     let h = try encoder.forward(x, layout: layout)                           // [N, D]
//     let z = try pooling.forward(h, layout: layout)                           // [B, D]
//     let logits = try heads[task].forward(z)                                  // [B, C]
//     let loss = try ce(logits: logits, targets: y, mask: present, gradient: dLogits, scale: w)
//     try embedding.backward(encoder.backward(pooling.backward(heads[task].backward(dLogits))))
//     clipGradientNorm(params, maxNorm: 5)
//     adam.step(params, learningRate: base * schedule.factor(step: step))
//     try Checkpoint.save(parameters: params, optimizer: adam, metadata: ["step": "\(step)"], to: path)
//
// Layers are classes that own their workspaces (resized per batch shape, reused across steps);
// `forward` caches what `backward` needs; outputs returned by a layer are owned by it and valid
// until its next call. Every parameter has a stable name (`encoder.lstm.l0.fwd.weight_ih`).
