// The permission oracle judges ptrace's answer by ptrace_allowed's rules as seen before the
// call: the kernel's own answers pass, and a debugger let in where it may not trace, or kept
// out where it may, is caught (a planted check that forgot PK_SUGID got past every other check).

import Testing
import UVMCheck
import UVMKernel
import UVMSched

@Suite @Sim struct PermissionOracleTests {
    @Test func ptraceIsJudgedByUidPrivilegeAndSetID() async throws {
        let sched = Scheduler(strategy: ReplayStrategy(choices: []))
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: 32))
        let debugger = k.createProc(name: "D", uid: 1000, memlockLimit: 0)
        let same = k.createProc(name: "S", uid: 1000, memlockLimit: 0)
        let other = k.createProc(name: "O", uid: 2000, memlockLimit: 0)
        let setID = k.createProc(name: "X", uid: 0, memlockLimit: 0)
        let root = k.createProc(name: "R", uid: 0, memlockLimit: 0)
        var cases: [(PtraceOracle, Errno?)] = []
        let failure = await sched.run([(debugger.lwps[0].thread, {
            try k.setuid(setID.lwps[0], 1000)
            for (caller, target) in [(debugger, same), (debugger, other), (debugger, setID), (root, setID), (debugger, debugger)] {
                let va = try await k.mmap(target.lwps[0], .anon, length: UInt64(k.pageSize), prot: [.read, .write],
                                          maxProt: .all, shared: false, fixed: nil)
                let oracle = PtraceOracle("ptrace read", caller: caller, target: target)
                var answer: Errno?
                do { _ = try await k.ptraceRead(caller.lwps[0], target: target.name, va) } catch let e as Errno { answer = e }
                cases.append((oracle, answer))
            }
        })])
        #expect(failure == nil)
        #expect(cases.map(\.1) == [nil, .EPERM, .EPERM, nil, .EINVAL])
        for (oracle, answer) in cases { #expect(oracle.judge(answer) == nil) }
        // Let in where it may not trace (another uid, a set-id process), kept out where it may.
        #expect(cases[1].0.judge(nil)?.contains("may not trace it") == true)
        #expect(cases[2].0.judge(nil)?.contains("may not trace it") == true)
        #expect(cases[0].0.judge(.EPERM)?.contains("yet it may trace it") == true)
        #expect(cases[3].0.judge(.EPERM)?.contains("yet it may trace it") == true)
        // Tracing oneself is answered before the permission, and not the oracle's to judge.
        #expect(cases[4].0.judge(nil) == nil)
    }
}
