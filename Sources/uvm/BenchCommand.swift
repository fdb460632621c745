// `uvm bench`: the performance figures, ours beside the host kernel's.

import ArgumentParser
import UVMRunner

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Print the performance figures (build with -c release).")
    @Option(help: "Divide the work by this factor for a quick run.") var scale: Int = 1
    @Option(help: "Only this group: faults, wiring or schedules (for profiling).") var only: String?

    func run() async throws {
        guard scale >= 1 else { throw ValidationError("--scale must be at least 1") }
        for f in await Bench.run(scale: scale, only: only) {
            let v = f.value >= 100 ? String(Int(f.value.rounded())) : String(Double(Int(f.value * 100)) / 100)
            print("\(f.name.padding(36))\(v.leftPad(10)) \(f.unit)   target: \(f.target)")
        }
    }
}
