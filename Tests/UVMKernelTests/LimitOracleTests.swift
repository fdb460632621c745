// The limit oracle judges mlock's answer against RLIMIT_MEMLOCK as seen before the call: a
// refusal within the limit and a success past it are both wrong, on either side of the edge.

import Testing
import UVMCheck
import UVMKernel
import UVMSched

@Suite @Sim struct LimitOracleTests {
    /// A 64-page machine with one unprivileged process whose RLIMIT_MEMLOCK is three pages.
    private func machine() -> (Scheduler, Kernel, Proc) {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 64))
        return (sched, k, k.createProc(name: "A", uid: 1000, memlockLimit: 3 * UInt64(k.pageSize)))
    }

    @Test func mlockIsJudgedOnBothSidesOfRLIMIT_MEMLOCK() async throws {
        let (sched, k, p) = machine()
        let ps = UInt64(k.pageSize), lwp = p.lwps[0]
        var va: UInt64 = 0
        var before: [MemlockOracle?] = []
        var answers: [Errno?] = []
        let failure = await sched.run([(lwp.thread, {
            va = try await k.mmap(lwp, .anon, length: 4 * ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            // One page, then two more (exactly the limit), then one past it.
            for (start, pages) in [(0, 1), (1, 2), (3, 1)] as [(UInt64, UInt64)] {
                before.append(MemlockOracle.mlock(k, p, addr: va + start * ps, len: pages * ps))
                do { try await k.mlock(lwp, va + start * ps, pages * ps); answers.append(nil) } catch let e as Errno { answers.append(e) }
            }
        })])
        #expect(failure == nil)
        #expect(answers == [nil, nil, .EAGAIN])
        let oracles = before.compactMap { $0 }
        try #require(oracles.count == 3)
        // The kernel's own answers pass.
        for (oracle, answer) in zip(oracles, answers) { #expect(oracle.judge(answer) == nil) }
        // An off-by-one either way is caught: refusing the mlock that reaches the limit exactly,
        // and granting the one past it.
        let refused = try #require(oracles[1].judge(.EAGAIN))
        #expect(refused.contains("A's 1 wired page(s) and the 2 asked for (\(3 * ps) bytes) are within its RLIMIT_MEMLOCK"))
        let granted = try #require(oracles[2].judge(nil))
        #expect(granted.contains("A's 3 wired page(s) and the 1 asked for (\(4 * ps) bytes) pass its RLIMIT_MEMLOCK"))
        // Other errnos are not the limit's to judge, and a range past the end of the address
        // space is refused before the limit is looked at.
        #expect(oracles[2].judge(.ENOMEM) == nil)
        #expect(MemlockOracle.mlock(k, p, addr: .max - 10, len: 100) == nil)
    }

    /// setrlimit: without privilege, lowering or keeping the limit is allowed and raising it is
    /// EPERM; a success must leave the limit asked for. The kernel's answers pass; each wrong one
    /// is caught (a planted `<` for `<=` made keeping the limit EPERM, and nothing saw it).
    @Test func setrlimitIsJudgedByPrivilegeAndDirection() async throws {
        let (sched, k, p) = machine()
        let ps = UInt64(k.pageSize), lwp = p.lwps[0]
        var judged: [(SetrlimitOracle, Errno?)] = []
        var verdicts: [String?] = []
        let failure = await sched.run([(lwp.thread, {
            for pages in [3, 2, 2, 3] as [UInt64] {
                let oracle = SetrlimitOracle(p, asking: pages * ps)
                var answer: Errno?
                do { try k.setMemlockLimit(lwp, pages * ps) } catch let e as Errno { answer = e }
                // Judged at once, as the runner does: the limit after the call is part of it.
                verdicts.append(oracle.judge(answer))
                judged.append((oracle, answer))
            }
        })])
        #expect(failure == nil)
        #expect(judged.map(\.1) == [nil, nil, nil, .EPERM])
        #expect(verdicts.allSatisfy { $0 == nil }, "\(verdicts)")
        // Keeping the limit refused, and raising it granted, are both caught.
        #expect(judged[2].0.judge(.EPERM)?.contains("does not raise the limit") == true)
        #expect(judged[3].0.judge(nil)?.contains("unprivileged, succeeded") == true)
        // Privilege may raise it.
        let root = k.createProc(name: "R", uid: 0, memlockLimit: ps)
        #expect(SetrlimitOracle(root, asking: 8 * ps).judge(.EPERM)?.contains("it is privileged") == true)
        #expect(SetrlimitOracle(root, asking: 8 * ps).judge(nil)?.contains("its limit is \(ps)") == true)
    }

    @Test func mlockallIsJudgedOnlyWhenItSucceedsPastTheLimit() async throws {
        let (sched, k, p) = machine()
        let ps = UInt64(k.pageSize), lwp = p.lwps[0]
        var oracles: [MemlockOracle] = []
        var answers: [Errno?] = []
        let failure = await sched.run([(lwp.thread, {
            let va = try await k.mmap(lwp, .anon, length: 2 * ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            _ = try await k.mmap(lwp, .anon, length: ps, prot: [], maxProt: .all, shared: false, fixed: nil)
            try await k.mlock(lwp, va, ps)
            // One wired page and one accessible page not wired (PROT_NONE is left out): within.
            oracles.append(MemlockOracle.mlockallCurrent(k, p))
            do { try await k.mlockall(lwp, current: true, future: false); answers.append(nil) } catch let e as Errno { answers.append(e) }
            // Two wired, two more accessible: past the limit.
            _ = try await k.mmap(lwp, .anon, length: 2 * ps, prot: [.read], maxProt: .all, shared: false, fixed: nil)
            oracles.append(MemlockOracle.mlockallCurrent(k, p))
            do { try await k.mlockall(lwp, current: true, future: false); answers.append(nil) } catch let e as Errno { answers.append(e) }
        })])
        #expect(failure == nil)
        #expect(answers == [nil, .ENOMEM])
        for (oracle, answer) in zip(oracles, answers) { #expect(oracle.judge(answer) == nil) }
        let granted = try #require(oracles[1].judge(nil))
        #expect(granted.contains("mlockall succeeded, yet A's 2 wired page(s) and the 2 asked for (\(4 * ps) bytes) pass its RLIMIT_MEMLOCK"))
        // ENOMEM is also a wiring fault short of memory: a refusal is never judged.
        #expect(oracles[0].judge(.ENOMEM) == nil)
    }
}

