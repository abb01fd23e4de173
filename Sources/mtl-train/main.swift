import ArgumentParser
struct Cmd: ParsableCommand { static let configuration = CommandConfiguration(commandName: "mtl-train") }
Cmd.main()
