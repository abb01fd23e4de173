import ArgumentParser
struct Cmd: ParsableCommand { static let configuration = CommandConfiguration(commandName: "mtl-prep") }
Cmd.main()
