import Testing
@testable import UVMSched

/// Two threads that each take two mutexes, in `order` per thread, with a preemption in between.
@Sim
private func twoLockRun(seed: UInt64, inverted: Bool, lockdep: Bool = false) async -> (Scheduler, KernelFailure?) {
    let s = Scheduler(strategy: seed == 0 ? FileOrderStrategy() : RandomStrategy(seed: seed))
    s.lockOrder.enabled = lockdep
    let a = KMutex(s, class: "A", name: "lock A"), b = KMutex(s, class: "B", name: "lock B")
    let t1 = s.makeThread(name: "T1"), t2 = s.makeThread(name: "T2")
    func body(_ first: KMutex, _ second: KMutex) -> () async throws -> Void {
        return {
            try await first.enter()
            try await s.switchPoint(.preempt)
            try await second.enter()
            try await second.exit()
            try await first.exit()
        }
    }
    let f = await s.run([(t1, body(a, b)), (t2, inverted ? body(b, a) : body(a, b))])
    return (s, f)
}

@Suite @Sim struct SchedulerTests {
    @Test func fileOrderRunsThreadsOneAfterAnother() async {
        let (s, f) = await twoLockRun(seed: 0, inverted: true)
        #expect(f == nil)
        #expect(s.choices.isEmpty || s.choices.allSatisfy { $0 == 0 })
        #expect(s.threads.allSatisfy { $0.state == .finished })
    }

    @Test(arguments: [1, 2, 3, 17, 99] as [UInt64])
    func sameSeedGivesSameTrace(seed: UInt64) async {
        let (s1, f1) = await twoLockRun(seed: seed, inverted: false)
        let (s2, f2) = await twoLockRun(seed: seed, inverted: false)
        #expect(f1 == f2)
        #expect(s1.traceHash == s2.traceHash)
        #expect(s1.steps == s2.steps)
        #expect(s1.choices == s2.choices)
    }

    @Test func replayReproducesTheRun() async {
        let (s1, f1) = await twoLockRun(seed: 7, inverted: true)
        // Replaying the recorded choices reaches the same end, step for step.
        let (s2, f2) = await replayTwoLock(choices: s1.choices)
        #expect(f1 == f2)
        #expect(s1.traceHash == s2.traceHash)
    }

    @Test func invertedOrderDeadlocksOnSomeScheduleWithTheCycle() async {
        var found: KernelFailure?
        for seed in 1...200 as ClosedRange<UInt64> {
            if let f = await twoLockRun(seed: seed, inverted: true).1 { found = f; break }
        }
        let f = try! #require(found)
        #expect(f.kind == .deadlock)
        #expect(f.message.contains("T1") && f.message.contains("T2"))
        #expect(f.details.contains { $0.contains("lock A") } && f.details.contains { $0.contains("lock B") })
    }

    @Test func lockdepReportsInversionWithoutDeadlock() async {
        // File order never deadlocks here, but both orders are taken: lock-order.
        let (_, f) = await twoLockRun(seed: 0, inverted: true, lockdep: true)
        #expect(f?.kind == .lockOrder)
        let (_, clean) = await twoLockRun(seed: 0, inverted: false, lockdep: true)
        #expect(clean == nil)
    }

    @Test func waitingWriterBlocksNewReaders() async {
        // R1 holds the read lock; W waits to write; R2 must not get in ahead of W (NetBSD rw_enter).
        let s = Scheduler()
        let rw = RWLock(s, class: "rw", name: "rw")
        var order: [String] = []
        let r1 = s.makeThread(name: "R1"), w = s.makeThread(name: "W"), r2 = s.makeThread(name: "R2")
        let f = await s.run([
            (r1, { try await rw.enter(.reader); order.append("R1"); try await s.switchPoint(.preempt)
                   try await rw.exit() }),
            (w, { try await rw.enter(.writer); order.append("W"); try await rw.exit() }),
            (r2, { try await rw.enter(.reader); order.append("R2"); try await rw.exit() }),
        ])
        #expect(f == nil)
        #expect(order == ["R1", "W", "R2"])
    }

    @Test func sleepWithNobodyToWakeIsADeadlock() async {
        let s = Scheduler()
        let ch = WaitChannel(s, name: "nowhere")
        let t = s.makeThread(name: "T")
        let f = await s.run([(t, { try await ch.sleep() })])
        #expect(f?.kind == .deadlock)
        #expect(f?.details.first?.contains("nowhere") == true)
    }
}

@Sim
private func replayTwoLock(choices: [Int]) async -> (Scheduler, KernelFailure?) {
    let s = Scheduler(strategy: ReplayStrategy(choices: choices))
    s.lockOrder.enabled = false
    let a = KMutex(s, class: "A", name: "lock A"), b = KMutex(s, class: "B", name: "lock B")
    let t1 = s.makeThread(name: "T1"), t2 = s.makeThread(name: "T2")
    let f = await s.run([
        (t1, { try await a.enter(); try await s.switchPoint(.preempt); try await b.enter(); try await b.exit(); try await a.exit() }),
        (t2, { try await b.enter(); try await s.switchPoint(.preempt); try await a.enter(); try await a.exit(); try await b.exit() }),
    ])
    return (s, f)
}

@Suite @Sim struct LockOrderEdgeTests {
    @Test func theOrdersARunUsedAreRecordedByClass() async {
        let (s, f) = await twoLockRun(seed: 0, inverted: false, lockdep: true)
        #expect(f == nil)
        let edges = s.lockOrder.recordedEdges.map { (LockClasses.name($0.from), LockClasses.name($0.to)) }
        #expect(edges.count == 1)
        #expect(edges.first.map { $0 == ("A", "B") } == true)
    }
}

@Suite @Sim struct SometimesTests {
    @Test func aSiteIsReportedWhenReachedAndOnlyThen() {
        let s = Scheduler(strategy: FileOrderStrategy())
        var reached: [String] = []
        s.sometimes(true, "nobody listens yet")
        s.siteHook = { reached.append("\($0)") }
        s.sometimes(false, "not reached")
        s.sometimes(true, "truncation met a page held by a vslock")
        #expect(reached == ["truncation met a page held by a vslock"])
    }
}

/// Two threads that each take `rounds` switch points; `progress` makes each round a page of work.
@Sim
private func spinningRun(rounds: Int, progress: Bool, livelockSteps: Int) async -> (Scheduler, KernelFailure?) {
    let s = Scheduler(strategy: RandomStrategy(seed: 5))
    s.livelockSteps = livelockSteps
    let t1 = s.makeThread(name: "T1"), t2 = s.makeThread(name: "T2")
    let body: () async throws -> Void = {
        for _ in 0..<rounds {
            try await s.switchPoint(.preempt)
            if progress { s.madeProgress() }
        }
    }
    let f = await s.run([(t1, body), (t2, body)])
    return (s, f)
}

@Suite @Sim struct WatchdogTests {
    @Test func stepsWithoutProgressPastTheLimitAreALivelock() async {
        let (s, f) = await spinningRun(rounds: 1_000, progress: false, livelockSteps: 300)
        let failure = try! #require(f)
        #expect(failure.kind == .livelock)
        #expect(failure.message.contains("no thread made progress in 300 scheduler steps"))
        #expect(s.steps == 301)
    }

    @Test func aLongRunThatKeepsMakingProgressIsNoLivelock() async {
        let (s, f) = await spinningRun(rounds: 1_000, progress: true, livelockSteps: 300)
        #expect(f == nil)
        #expect(s.steps >= 2_000)
        #expect(s.threads.allSatisfy { $0.state == .finished })
    }
}
