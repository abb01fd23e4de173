import ArgumentParser
// Branch-local root command so that `mtl-bench train-step` runs on branch `nn`; the lead merges
// TrainStepBench into the real subcommand list.
struct MtlBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mtl-bench", subcommands: [TrainStepBench.self])
}
MtlBench.main()
