// The exploration strategies on small programs with planted bugs: each strategy finds each bug,
// every failing schedule replays, and DFS exhausts a clean program and says so.

import Testing
@testable import UVMSched

/// A planted-bug program: makes its threads on `s` and returns their bodies.
typealias Program = @Sendable (Scheduler) -> [(SimThread, () async throws -> Void)]

enum Planted {
    /// Two locks taken in both orders.
    static let lockOrder: Program = { s in
        let a = KMutex(s, class: "A", name: "A"), b = KMutex(s, class: "B", name: "B")
        func body(_ x: KMutex, _ y: KMutex) -> () async throws -> Void {
            return { try await x.enter(); try await y.enter(); try await y.exit(); try await x.exit() }
        }
        return [(s.makeThread(name: "T1"), body(a, b)), (s.makeThread(name: "T2"), body(b, a))]
    }

    /// A waiter checks a flag, then sleeps with a switch point in between: the wakeup can fall
    /// into the gap and the waiter sleeps forever.
    static let lostWakeup: Program = { s in
        let ch = WaitChannel(s, name: "flag")
        var flag = false
        return [
            (s.makeThread(name: "waiter"), {
                if !flag {
                    try await s.switchPoint(.preempt)  // the bug: the check and the sleep are apart
                    try await ch.sleep()
                }
            }),
            (s.makeThread(name: "waker"), {
                try await s.switchPoint(.preempt)
                flag = true
                try await ch.wakeup()
            }),
        ]
    }

    /// Two threads increment a counter with a read, a switch point and a write.
    static let counterRace: Program = { s in
        var counter = 0, done = 0
        func body() -> () async throws -> Void {
            return {
                let v = counter
                try await s.switchPoint(.preempt)
                counter = v + 1
                done += 1
                if done == 2 && counter != 2 {
                    throw s.abort(KernelFailure(.invariant, "counter is \(counter) after two increments"))
                }
            }
        }
        return [(s.makeThread(name: "T1"), body()), (s.makeThread(name: "T2"), body())]
    }

    /// R1 read-holds rw and then wants m; R2 holds m and wants rw for reading, which only a
    /// waiting writer W can refuse it: the deadlock needs NetBSD's writer preference.
    static let writerPreference: Program = { s in
        s.lockOrder.enabled = false  // the deadlock itself is the finding here
        let rw = RWLock(s, class: "rw", name: "rw"), m = KMutex(s, class: "m", name: "m")
        return [
            (s.makeThread(name: "R1"), {
                try await rw.enter(.reader)
                try await s.switchPoint(.preempt)
                try await m.enter(); try await m.exit()
                try await rw.exit()
            }),
            (s.makeThread(name: "W"), {
                try await rw.enter(.writer); try await rw.exit()
            }),
            (s.makeThread(name: "R2"), {
                try await m.enter()
                try await s.switchPoint(.preempt)
                try await rw.enter(.reader); try await rw.exit()
                try await m.exit()
            }),
        ]
    }

    /// Two locks always taken in one order: nothing to find.
    static let clean: Program = { s in
        let a = KMutex(s, class: "A", name: "A"), b = KMutex(s, class: "B", name: "B")
        func body() -> () async throws -> Void {
            return { try await a.enter(); try await s.switchPoint(.preempt); try await b.enter(); try await b.exit(); try await a.exit() }
        }
        return [(s.makeThread(name: "T1"), body()), (s.makeThread(name: "T2"), body())]
    }
}

@Sim
private func runOnce(_ program: Program, _ strategy: any ScheduleStrategy) async -> (KernelFailure?, [Int]) {
    let s = Scheduler(strategy: strategy)
    let f = await s.run(program(s))
    return (f, s.choices)
}

/// Explores `program` with `strategy` until a failure: (failure, schedules, choices, exhausted).
@Sim
private func search(_ program: Program, _ strategy: String, runs: Int = 2000)
    async -> (failure: KernelFailure?, schedules: Int, choices: [Int], exhausted: Bool) {
    let k = max(await runOnce(program, FileOrderStrategy()).1.count, 1)
    var prefix: [Int]? = []
    for i in 1...runs {
        let failure: KernelFailure?
        let choices: [Int]
        switch strategy {
        case "random":
            (failure, choices) = await runOnce(program, RandomStrategy(seed: UInt64(i)))
        case "pct":
            (failure, choices) = await runOnce(program, PCTStrategy(seed: UInt64(i), depth: 3, steps: k))
        default:
            guard let p = prefix else { return (nil, i - 1, [], true) }
            let log = DFSStrategy.Log()
            (failure, choices) = await runOnce(program, DFSStrategy(prefix: p, log: log))
            prefix = DFSStrategy.nextPrefix(after: log.decisions, maxPreemptions: 2)
        }
        if let failure { return (failure, i, choices, false) }
    }
    return (nil, runs, [], false)
}

@Suite @Sim struct StrategyTests {
    static let bugs: [(String, Program, FailureKind)] = [
        ("lock-order", Planted.lockOrder, .lockOrder),
        ("lost wakeup", Planted.lostWakeup, .deadlock),
        ("counter race", Planted.counterRace, .invariant),
        ("writer preference", Planted.writerPreference, .deadlock),
    ]

    @Test(arguments: ["random", "pct", "dfs"])
    func everyStrategyFindsEveryPlantedBugAndTheTokenReplays(strategy: String) async {
        for (name, program, kind) in Self.bugs {
            let r = await search(program, strategy)
            #expect(r.failure?.kind == kind, "\(strategy) on \(name): \(String(describing: r.failure))")
            // The schedule's choices replay it exactly.
            let (again, _) = await runOnce(program, ReplayStrategy(choices: r.choices))
            #expect(again == r.failure, "\(strategy) on \(name): replay")
        }
    }

    @Test func dfsExhaustsACleanProgramAndSaysSo() async {
        let r = await search(Planted.clean, "dfs", runs: 100_000)
        #expect(r.failure == nil)
        #expect(r.exhausted)
        #expect(r.schedules > 10)
    }

    @Test func theWriterPreferenceDeadlockNeedsTheWaitingWriter() async {
        // Without W nobody refuses R2 its read lock: no deadlock anywhere in the DFS tree.
        let noWriter: Program = { s in
            let all = Planted.writerPreference(s)
            return all.filter { $0.0.name != "W" }
        }
        let r = await search(noWriter, "dfs", runs: 100_000)
        #expect(r.failure == nil && r.exhausted)
    }

    @Test func pctChangePointsDemoteTheRunningThread() {
        var p = PCTStrategy(seed: 5, depth: 2, steps: 1)  // the change point is decision 1
        let s = Scheduler()
        let a = s.makeThread(name: "a"), b = s.makeThread(name: "b")
        let first = p.choose(runnable: [a, b], current: 0)
        #expect(first == 1)  // a was running and dropped below b at the change point
    }
}
