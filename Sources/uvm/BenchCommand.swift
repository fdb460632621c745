// `uvm bench`: the performance figures, ours beside the host kernel's and the targets.

import ArgumentParser
import Foundation
import UVMRunner

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Print the performance figures (build with -c release).")
    @Option(help: "Divide the work by this factor for a quick run.") var scale: Int = 1
    @Option(help: "Only this group: \(Bench.groups.joined(separator: ", ")).") var only: String?
    @Flag(help: "Print the figures as one JSON document.") var json = false
    /// Only this many zero-fill faults, nothing printed: the run the bench counts under callgrind.
    @Option(help: .hidden) var zeroFillFaults: Int?

    func run() async throws {
        guard scale >= 1 else { throw ValidationError("--scale must be at least 1") }
        if let only, !Bench.groups.contains(only) {
            throw ValidationError("--only takes one of \(Bench.groups.joined(separator: ", ")), not '\(only)'")
        }
        if let zeroFillFaults {
            guard (1...1 << 20).contains(zeroFillFaults) else { throw ValidationError("--zero-fill-faults takes 1 to 2^20") }
            await Bench.zeroFillOnly(faults: zeroFillFaults)
            return
        }
        let figures = await Bench.run(scale: scale, only: only,
                                      executable: try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        if json {
            // A figure with no value (the host had none to measure) is null, as JSON has no NaN.
            let number: (Double) -> Any = { $0.isFinite ? $0 : NSNull() }
            print(RunJSON.text(["figures": figures.map { f -> [String: Any] in
                var o: [String: Any] = ["name": f.name, "value": number(f.value), "unit": f.unit, "target": f.target]
                if let host = f.host { o["host"] = number(host) }
                if let met = f.met { o["met"] = met }
                return o
            }]))
            return
        }
        print("figure".padding(42) + "ours".leftPad(10) + "  " + "unit".padding(20) + "host".leftPad(10) + "   target")
        for f in figures {
            let verdict = f.met.map { $0 ? "  met" : "  NOT MET" } ?? ""
            print(f.name.padding(42) + figure(f.value).leftPad(10) + "  " + f.unit.padding(20)
                  + (f.host.map(figure) ?? "-").leftPad(10) + "   " + f.target + verdict)
        }
    }

    private func figure(_ v: Double) -> String {
        guard v.isFinite else { return "-" }
        return v >= 100 ? String(Int(v.rounded())) : String(Double(Int(v * 100)) / 100)
    }
}
