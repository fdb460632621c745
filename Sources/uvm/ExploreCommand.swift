// `uvm explore`: many schedules of each file, then the first failure shrunk and printed.

import ArgumentParser
import Foundation
import UVMRunner
import UVMScenario

struct Explore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Many schedules; stops at the first BUG or FAIL.")
    @Argument(help: "Scenario files.") var files: [String]
    @Option(help: "portfolio (random, pct and preemption-bounded dfs taking turns), random, pct, or dfs.") var strategy: String = "portfolio"
    @Option(help: "Schedules to try per file.") var runs: Int = 1000
    @Option(help: "Seconds per file for the whole work: search, shrinking and report.") var time: Double?
    @Option(help: "Stop cleanly, with what was found, once the resident set passes this many MB.") var maxMemory: Int = 512
    @Option(help: "First seed.") var seed: UInt64 = 1
    @Option(help: "PCT depth d.") var depth: Int = 3
    @Option(help: "DFS preemption bound.") var preemptions: Int = 2
    @Flag(help: "Run every schedule twice and compare the runs step for step.") var selfCheck = false
    @Option(help: "Explore shard I of N (I/N): every N-th seed, so a campaign can run on many machines.") var shard: String?
    @Option(help: "Write each shrunk failing scenario into this directory, with the token that replays it there.") var save: String?
    @Flag(help: "Show every switch point in the failure's timeline.") var steps = false
    @OptionGroup var common: Common

    func run() async throws {
        guard let s = ExploreStrategy(rawValue: strategy) else {
            throw ValidationError("--strategy must be one of \(ExploreStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard runs > 0, depth >= 1 else { throw ValidationError("--runs and --depth must be positive") }
        guard preemptions >= 0 else { throw ValidationError("--preemptions must not be negative") }
        if let time, !(time > 0 && time <= 1e9) { throw ValidationError("--time must be a positive number of seconds up to 1e9, found \(time)") }
        guard maxMemory > 0, maxMemory <= 1 << 40 else { throw ValidationError("--max-memory must be a positive number of MB up to 2^40, found \(maxMemory)") }
        var e = ExploreOptions()
        e.strategy = s
        e.runs = runs
        e.seconds = time
        e.firstSeed = seed
        e.depth = depth
        e.preemptions = preemptions
        e.selfCheck = selfCheck
        if let shard {
            let parts = shard.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2, parts[1] > 0, parts[0] >= 0, parts[0] < parts[1] else {
                throw ValidationError("--shard expects I/N with 0 <= I < N, found '\(shard)'")
            }
            e.shard = (parts[0], parts[1])
        }
        if !common.json {
            e.progress = { n, secs, distinct in
                Driver.printError("  \(n) schedules, \(Int(Double(n) / max(secs, 1e-9))) schedules/s, \(distinct) distinct traces")
            }
        }
        // Every file is read and parsed before any is explored: a typo in the last file is
        // reported at once, not after the first files' minutes of search.
        for file in files { _ = try Driver.load(file) }
        var worst: Int32 = 0
        for file in files {
            e.limits = ResourceLimits(seconds: time, maxResidentMegabytes: maxMemory)
            worst = max(worst, try await Driver.explore(file, try common.options(), e, save: save, steps: steps, json: common.json))
        }
        if worst != 0 { throw ExitCode(worst) }
    }
}

extension Driver {
    static func explore(_ file: String, _ o: RunOptions, _ e: ExploreOptions, save: String?, steps: Bool,
                        json: Bool) async throws -> Int32 {
        let (scenario, text) = try load(file)
        let finding: ExploreFinding
        do {
            finding = try await Explorer.exploreAndShrink(scenario, source: text, base: o, e)
        } catch {
            throw scenarioError(error.description)
        }
        let result = finding.exploration
        if let divergence = result.divergence {
            print("\(file): REPLAY DIVERGED: \(divergence)")
            return 2
        }
        guard let shrunk = finding.shrunk, let again = finding.traced else {
            let rate = Double(result.schedules) / max(result.seconds, 1e-9)
            if json {
                print(#"{"file":\#(quote(file)),"outcome":"PASS","schedules":\#(result.schedules)}"#)
            } else {
                if let reached = result.limitReached, case .memory = reached { print("\(file): search stopped: \(reached.description)") }
                if e.strategy == .dfs {
                    print("\(file): PASS over \(result.schedules) schedule(s) (\(Int(rate)) schedules/s, \(result.distinctTraces) distinct, dfs, ≤ \(e.preemptions) preemptions): " + (result.complete ? "every schedule run" : result.exhausted ? "space exhausted" : "not exhausted"))
                } else {
                    print("\(file): PASS over \(result.schedules) schedule(s) (\(Int(rate)) schedules/s, \(result.distinctTraces) distinct, \(e.strategy.rawValue)" + (result.complete ? ", every schedule run" : result.exhausted ? ", dfs exhausted" : "") + "; PCT bound per schedule for depth \(e.depth): \(result.pctBound(depth: e.depth)))")
                }
            }
            return 0
        }
        if json {
            // The token must replay on the file named: the shrunk scenario's would not.
            printJSON(file, shrunk.fullScenarioReport, schedules: result.schedules)
        } else {
            print("\(file): \(again.outcome.summary) after \(result.schedules) schedule(s)")
            if case .bug(let f) = again.outcome { for d in f.details { print("  " + d) } }
            print(String(format: "shrunk in %.2f s (%d runs)", shrunk.seconds, shrunk.runs))
            if let cut = shrunk.cutShort { print("shrinking cut short (\(cut.description)): the smallest failure found so far") }
            print("depth: " + (shrunk.depth.map { "\($0) preemption(s)" } ?? "not measured"))
            print("steps: \(again.steps) in the shrunk schedule")
            if !shrunk.droppedLines.isEmpty {
                print("shrunk: lines \(shrunk.droppedLines.map(String.init).joined(separator: ", ")) are not needed; the scenario without them:")
                for line in keptLines(shrunk.scenario, text) { print("  " + line) }
            }
            if let timeline = again.timeline { print(timeline.render(steps: steps)) }
            print("replay: " + replayCommand(file, shrunk.fullScenarioReport, o))
            if let save, !shrunk.droppedLines.isEmpty {
                let (path, token) = try await saveShrunk(file, keptLines(shrunk.scenario, text), choices: again.token, into: save, o)
                print("the shrunk scenario, saved as \(path): uvm replay \(path) \(token)" + replayWords(o))
            } else if !shrunk.droppedLines.isEmpty {
                print("(--save DIR writes the shrunk scenario with the token that replays it)")
            }
        }
        return again.outcome.exitCode
    }

    /// The source lines of a (reduced) scenario: setup lines and the operations it still has.
    static func keptLines(_ s: Scenario, _ text: String) -> [String] {
        let lines = sourceLines(text)
        var keep = Set<Int>()
        for st in s.statements {
            keep.insert(st.location.line)
            if case .together(let ops) = st.kind {
                for op in ops { keep.insert(op.location.line) }
                if let end = lines.indices.dropFirst(st.location.line).first(where: {
                    lines[$0].split(separator: "#").first?.trimmingCharacters(in: .whitespaces) == "end"
                }) { keep.insert(end + 1) }
            }
        }
        return keep.sorted().filter { $0 >= 1 && $0 <= lines.count }.map { lines[$0 - 1] }
    }

    /// `uvm check`: every catalog entry, both ways, as a table. Returns whether all held.

    /// Writes the shrunk scenario as DIR/NAME.shrunk.uvm and replays it there, so the token it
    /// prints carries that file's fingerprint (a token made for the whole file would be refused).
    static func saveShrunk(_ file: String, _ lines: [String], choices token: String, into dir: String,
                           _ o: RunOptions) async throws -> (String, String) {
        let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let path = (dir as NSString).appendingPathComponent(name + ".shrunk.uvm")
        let text = "# shrunk by uvm explore from \(file)\n" + lines.joined(separator: "\n") + "\n"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw scenarioError("\(path): cannot write the shrunk scenario (\(error.localizedDescription))")
        }
        let (scenario, _) = try load(path)
        var again = o
        again.replay = ReplayToken.decode(token)
        return (path, try await execute(scenario, text, again).token)
    }
}
