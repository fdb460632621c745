// The campaign's supervisor: the campaign runs in a worker process (this same executable, told
// `--worker`), so that a Swift trap in the kernel kills only the worker. The supervisor keeps
// the scenario the worker was running as crash-HASH.uvm, counts it, and — with `--keep-going`
// — starts a new worker at the next seed with what is left of the budget; so too when a
// worker stopped at the memory ceiling after running scenarios. syzkaller's manager
// and executor split the same way, for the same reason.
//
// A worker prints its result as one JSON document on standard output; its progress line goes
// to the terminal directly. A worker that dies leaves its in-flight file, whose header names
// the seed it was running: every scenario before it ran (one seed, one scenario), so the count
// of scenarios stays exact, though the dead worker's schedules and coverage are not known.

import Foundation

public enum Supervisor {
    /// The flags the supervisor sets for each worker; the rest of the command line is passed on.
    static let budgetFlags: Set<String> = ["--seed", "--time", "--runs"]

    /// Runs the campaign `options` describes in workers started as `executable arguments
    /// --worker --seed S [--time T] [--runs N]`, where `arguments` is the user's command line
    /// after the executable's name.
    public static func run(_ options: FuzzOptions, executable: String, arguments: [String]) async throws(FuzzError) -> FuzzResult {
        let passedOn = withoutBudgetFlags(arguments)
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double { (clock.now - start).seconds }
        var total = FuzzResult(stats: FuzzStats(), findings: [])
        var firstSeed = options.firstSeed
        let step = UInt64(max(options.shard.count, 1))
        while true {
            var args = passedOn + ["--worker", "--seed", String(firstSeed)]
            if let limit = options.seconds {
                let left = limit - elapsed()
                guard left > 0 else { break }
                args += ["--time", String(left)]
            }
            if let limit = options.scenarios {
                let left = limit - total.stats.scenarios
                guard left > 0 else { break }
                args += ["--runs", String(left)]
            }
            switch try runWorker(executable, args) {
            case .finished(let result):
                total.add(result)
                total.stats.seconds = elapsed()
                // A worker that reached the memory ceiling after running scenarios held what a
                // long campaign accumulates (a resident set that grows by about a kilobyte a
                // scenario), not what one scenario needs: a fresh worker goes on from the next
                // seed. One that ran none stops the campaign, as it stopped the worker.
                guard options.keepGoing, result.stoppedBy != nil, result.stats.scenarios > 0 else { return total }
                total.stoppedBy = nil
                firstSeed &+= UInt64(result.stats.scenarios) &* step
            case .died(let status):
                guard let crash = try Fuzzer.keepCrashedScenario(options) else {
                    throw FuzzError("the fuzzing worker died (\(status)) with no scenario in flight")
                }
                let firstOfWorker = firstSeed &+ UInt64(options.shard.index)
                total.stats.scenarios += Int((crash.seed &- firstOfWorker) / step) + 1
                total.crashes.append(crash.path)
                total.stats.bugs["crash", default: 0] += 1
                guard options.keepGoing else {
                    total.stats.seconds = elapsed()
                    return total
                }
                firstSeed = crash.seed &+ step &- UInt64(options.shard.index)
            }
        }
        total.stats.seconds = elapsed()
        return total
    }

    /// `arguments` without the flags (and their values) the supervisor sets per worker.
    public static func withoutBudgetFlags(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if budgetFlags.contains(a) {
                i += 2
                continue
            }
            if let eq = a.firstIndex(of: "="), budgetFlags.contains(String(a[..<eq])) {
                i += 1
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    enum WorkerEnd {
        case finished(FuzzResult)
        case died(String)
    }

    private static func runWorker(_ executable: String, _ arguments: [String]) throws(FuzzError) -> WorkerEnd {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // The crash file is the report; a worker's backtrace would bury the progress line.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            throw FuzzError("\(executable): cannot start a fuzzing worker (\(error.localizedDescription))")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal {
            return .died("signal \(process.terminationStatus)")
        }
        guard let result = try? JSONDecoder().decode(FuzzResult.self, from: data) else {
            // A worker that exits without its result (a usage error it reported itself, or a
            // trap the runtime turned into an exit status) is a dead worker too.
            return .died("exit status \(process.terminationStatus)")
        }
        return .finished(result)
    }

    /// The worker's side: its result, as the supervisor reads it.
    public static func workerOutput(_ result: FuzzResult) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(result)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}

extension FuzzResult {
    mutating func add(_ other: FuzzResult) {
        stats.scenarios += other.stats.scenarios
        stats.schedules += other.stats.schedules
        stats.unrunnable += other.stats.unrunnable
        stats.tooCostly += other.stats.tooCostly
        stats.generatorMistakes += other.stats.generatorMistakes
        stats.coverage = other.stats.coverage
        stats.corpus = other.stats.corpus
        for (kind, n) in other.stats.bugs { stats.bugs[kind, default: 0] += n }
        findings += other.findings
        crashes += other.crashes
        earlierCrash = earlierCrash ?? other.earlierCrash
        stoppedBy = other.stoppedBy ?? stoppedBy
    }
}
