import NN

/// One optimisation step of a `MultiTaskModel`: forward, the weighted multi-task loss,
/// backward (PCGrad-projected when asked), the gradient exchange between processes, clipping
/// and the optimizer update. The trainer and `mtl-bench train-step` both run this one step.
public final class TrainingStep {
    public let model: MultiTaskModel
    public let optimizer: any Optimizer
    /// Every parameter the optimizer updates (the model's, then learned task weights).
    public let parameters: [Parameter]
    public var reducer: GradientReducer?
    let weighting: TaskWeightingSpec
    let uncertainty: UncertaintyTaskWeighting?
    let staticWeights: [Float]
    let losses: [TaskLoss]
    let classWeights: [[Float]?]
    let clip: Float
    let taskNames: [String]
    /// The generator PCGrad shuffles task order with (its counter is saved with checkpoints).
    var pcgrad: SplitMix64

    /// - Parameters:
    ///   - losses: per task (model order); `classWeights` likewise, nil for unweighted.
    ///   - clip: the global gradient-norm limit, 0 for none.
    public init(model: MultiTaskModel, optimizer: any Optimizer, weighting: TaskWeightingSpec, losses: [TaskLoss],
                classWeights: [[Float]?], clip: Float, seed: UInt64) {
        self.model = model
        self.optimizer = optimizer
        self.weighting = weighting
        taskNames = model.config.tasks.map(\.name)
        staticWeights = weighting.staticWeights(tasks: taskNames)
        self.losses = losses
        self.classWeights = classWeights
        self.clip = clip
        if weighting == .uncertainty {
            let u = UncertaintyTaskWeighting(taskCount: taskNames.count)
            uncertainty = u
            parameters = model.parameters + u.parameters
        } else {
            uncertainty = nil
            parameters = model.parameters
        }
        pcgrad = SplitMix64(seed: seed).derived("pcgrad")
    }

    /// The optimizer built from a run's settings.
    public static func optimizer(for training: TrainingConfig) -> any Optimizer {
        switch training.optimizer {
        case .adam: return Adam(learningRate: training.learningRate, weightDecay: training.weightDecay)
        case .adamw: return Adam.adamW(learningRate: training.learningRate, weightDecay: training.weightDecay)
        case .sgd: return SGD(learningRate: training.learningRate, momentum: training.momentum, weightDecay: training.weightDecay)
        }
    }

    /// Trains on `input` with `learningRate`; returns each task's loss (nil where the batch has
    /// no label for it). `step` (1-based) only names the step in errors.
    @discardableResult
    public func callAsFunction(_ input: ModelInput, learningRate: Float, step: Int) throws -> [Float?] {
        for p in parameters { p.zeroGrad() }
        let outputs = try model.forward(input, training: true)
        var scales = staticWeights
        if let u = uncertainty { scales = (0..<scales.count).map { Math.exp(-u.logVariance.value.data[$0]) } }
        var taskLosses: [Float?] = []
        taskLosses.reserveCapacity(outputs.count)
        for t in outputs.indices {
            let l = try model.loss(task: t, output: outputs[t], loss: losses[t], classWeights: classWeights[t], scale: scales[t])
            if let l, !l.isFinite {
                throw TrainingError(.nonFinite, "step \(step): the loss of task '\(taskNames[t])' is \(l) (the last good checkpoint is kept; lower --lr or set --clip)")
            }
            taskLosses.append(l)
        }
        if let u = uncertainty { _ = u.combine(losses: taskLosses) }
        let present = taskLosses.indices.filter { taskLosses[$0] != nil }
        if weighting == .pcgrad && present.count > 1 {
            // Per-task gradients of the shared layers, projected where they conflict; each head
            // keeps its own task's gradient (it is the only task that reaches it).
            var perTask: [[Float]] = []
            for t in present {
                for p in model.sharedParameters { p.zeroGrad() }
                try model.backward(tasks: [t])
                perTask.append(model.sharedParameters.flattenedGradients())
            }
            try model.sharedParameters.setGradients(PCGrad.combine(perTask, rng: &pcgrad))
        } else {
            try model.backward(tasks: present)
        }
        if let reducer, reducer.processCount > 1 {
            var flat = parameters.flattenedGradients()
            try reducer.averageGradients(&flat)
            try parameters.setGradients(flat)
        }
        let norm = clipGradientNorm(parameters, maxNorm: clip > 0 ? clip : .infinity)
        guard norm.isFinite else {
            throw TrainingError(.nonFinite, "step \(step): the gradient norm is \(norm) (tasks \(present.map { taskNames[$0] }.joined(separator: ", "))); the last good checkpoint is kept")
        }
        // Only what this step's tasks reached: a head whose task is absent keeps its weights and its
        // optimizer moments (PyTorch skips parameters without a gradient the same way).
        optimizer.step(model.parametersReached(input, tasks: present) + (uncertainty?.parameters ?? []), learningRate: learningRate)
        return taskLosses
    }
}
