// Wiring under `policy modern` can be trusted: no false wire-count or wiredmax BUG, each historic
// knob confined to the mechanism it names, and SysV SHM ids checked as NetBSD's shmctl1 does.

import Testing
import UVMCore
import UVMRunner
import UVMSched

@Suite @Sim struct WiringTrustTests {
    /// Each wiring mechanism with its undoing, on memory never touched and on memory touched.
    static let mechanisms: [(name: String, text: String)] = [
        ("shm", """
            A: id = shmget size=2p
            A: shmctl id lock => ok
            A: shmctl id unlock => ok
            A: s = shmat id
            A: fill s 2p 0x11 => ok
            A: shmctl id lock => ok
            A: check s 2p 0x11 => ok
            A: shmctl id unlock => ok
            A: shmdt s => ok
            A: shmctl id rmid => ok
            """),
        ("anon mlock", """
            A: a = mmap anon 2p
            A: mlock a 2p => ok
            A: munlock a 2p => ok
            A: fill a 2p 0x22 => ok
            A: mlock a 2p => ok
            A: munlock a 2p => ok
            A: mlockall current => ok
            A: munlockall => ok
            """),
        ("file mlock", """
            A: f = mmap file=db 2p shared
            A: mlock f 2p => ok
            A: check f 2p 0x41 => ok
            A: munlock f 2p => ok
            """),
        ("vslock", """
            A: b = mmap anon 2p
            A: h = vslock b 2p rw => ok
            A: vsunlock h => ok
            A: fill b 2p 0x33 => ok
            A: h2 = vslock b 2p r => ok
            A: dma h2 read => 0x33
            A: vsunlock h2 => ok
            A: physio tape read b 2p => ok
            A: sysctl b+1p 1p => ok
            """),
    ]

    /// Knob values whose historic bug *is* the mechanism (the catalog shows each): vslock=busy
    /// returns from vslock with the pages busy (the 2003 tech-kern vslock thread);
    /// vnode-fault=lock-early takes the vnode lock inside the object lock on every file fault
    /// (OpenBSD's 2021 uvm_vnode.c diff).
    static let ownBug: Set<String> = ["vslock=busy vslock", "vnode-fault=lock-early file mlock"]

    /// None of the mechanisms reaches the historic bug of any other knob (no munlock under a
    /// vslock, no truncation, no loan, no exec, no wired exhaustion), so every knob value must
    /// leave each passing, with the audit after every step and nothing wired at the end.
    @Test(arguments: Policy.knobs.flatMap { knob in knob.values.map { (knob.name, $0) } })
    func everyKnobValueLeavesTheWiringMechanismsPassing(knob: String, value: String) async throws {
        for (name, lines) in Self.mechanisms where !Self.ownBug.contains("\(knob)=\(value) \(name)") {
            let text = """
                machine ram=64p
                file db size=2p fill=0x41
                device tape
                proc A uid=0
                \(lines)
                expect wired = 0p
                """
            var options = RunOptions()
            options.auditEveryStep = true
            options.policy = [(knob, value)]
            let r = try await run(text, options: options)
            #expect(r.outcome == .pass, "\(knob)=\(value), \(name)\n\(r.transcript)")
        }
    }

    /// The knob `unwire=pmap` is about how a map entry's unwiring finds its pages; SHM_LOCK wires
    /// the pages of the object it brings in itself, so SHM_UNLOCK has a wire to drop on each.
    @Test func shmLockOfAnUntouchedSegmentUnderUnwirePmapUnlocksCleanly() async throws {
        let text = """
            policy unwire=pmap
            proc A uid=0
            A: id = shmget size=3p
            A: shmctl id lock => ok
            expect wired = 3p
            A: shmctl id unlock => ok
            expect wired = 0p
            """
        expectPass(try await run(text))
    }

    /// IPC_RMID needs the segment's owner or creator, or privilege (sysv_shm.c shmctl1:
    /// ipcperm(cred, &shmseg->shm_perm, IPC_M)); a process of the same uid is the owner.
    @Test func removingASegmentNeedsItsOwnersUid() async throws {
        let text = """
            proc A uid=1000
            proc B uid=1000
            proc C uid=1001
            proc R uid=0
            A: id = shmget size=1p
            C: shmctl id rmid => EPERM
            B: shmctl id rmid => ok
            A: id2 = shmget size=1p
            R: shmctl id2 rmid => ok
            A: shmctl id2 rmid => EINVAL
            """
        expectPass(try await run(text))
    }

    /// A removed segment is not found any more, even by a SHM_LOCK that was already waiting
    /// for it (shm_find_segment_by_shmid under shm_lock): EINVAL, and nothing stays wired.
    @Test func shmLockRacingRemovalWiresNothingThatOutlivesTheSegment() async throws {
        let text = """
            proc A uid=0
            proc B
            B: id = shmget size=2p
            together
              B: shmctl id rmid => ok
              A: shmctl id lock => ok|EINVAL
            end
            expect wired = 0p
            """
        for seed in 0..<12 as Range<UInt64> { expectPass(try await run(text, seed: seed)) }
    }

    /// Two wirings that fit wiredmax together both succeed in every order: a wiring's grant is
    /// given back page by page as its pages are wired, never counted twice.
    @Test func concurrentMlocksThatFitTogetherBothSucceed() async throws {
        let text = """
            machine ram=32p wiredmax=6p
            proc A memlock=8p
            proc B memlock=8p
            A: a = mmap anon 3p
            A: fill a 1p 0x11 => ok
            B: b = mmap anon 3p
            together
              A: mlock a 3p => ok
              B: mlock b 3p => ok
            end
            expect wired = 6p
            A: munlock a 3p => ok
            """
        try await expectEveryGrantGivenBack(text, before: "munlock a")
    }

    /// The same for a vslock beside an mlock: the vslock's grant, too, is given back page by
    /// page, so the mlock that fits never gets EAGAIN, and no grant outlives either wiring.
    @Test func aVslockAndAnMlockThatFitTogetherBothSucceed() async throws {
        let text = """
            machine ram=32p wiredmax=4p
            proc A memlock=8p
            proc B memlock=8p
            A: a = mmap anon 2p
            A: fill a 2p 0x11 => ok
            B: b = mmap anon 2p
            together
              A: h = vslock a 2p rw => ok
              B: mlock b 2p => ok
            end
            A: vsunlock h => ok
            """
        try await expectEveryGrantGivenBack(text, before: "vsunlock h")
    }

    /// Runs `text` under a dozen schedules: each passes, and once the racing wirings are done
    /// (before the line marked `marker`) nothing is left reserved against wiredmax.
    private func expectEveryGrantGivenBack(_ text: String, before marker: String) async throws {
        for seed in 0..<12 as Range<UInt64> {
            var options = RunOptions()
            options.auditEveryStep = true
            options.seed = seed
            var grantsLeft: Int?
            options.beforeOperation = { k, l in if l == line(marker, in: text) { grantsLeft = k.uvm.mem.wiredReserved } }
            expectPass(try await run(text, options: options))
            #expect(grantsLeft == 0, "seed \(seed): every grant is given back once its wiring is done")
        }
    }

    /// A wired file page taken away by truncation keeps one page reserved against wiredmax for
    /// as long as a wiring covers its index: the reservation goes when the page comes back (it
    /// is wired then) or when the wiring ends, and never leaks.
    @Test func aTruncatedWiredPageKeepsItsPlaceUntilItsWiringEnds() async throws {
        let text = """
            machine ram=32p wiredmax=4p
            file db size=2p fill=0x41
            proc A memlock=8p
            A: f = mmap file=db 2p shared
            A: mlock f 2p => ok
            A: truncate db 0 => ok
            A: munlock f 1p => ok
            A: truncate db 2p => ok
            A: load f+1p => 0x00
            A: munlock f+1p 1p => ok
            A: load f => 0x00
            expect wired = 0p
            """
        final class Reserved { var byLine: [Int: Int] = [:] }
        let reserved = Reserved()
        var options = RunOptions()
        options.auditEveryStep = true
        options.beforeOperation = { k, line in reserved.byLine[line] = k.uvm.mem.wiredReserved }
        expectPass(try await run(text, options: options))
        #expect(reserved.byLine[line("munlock f 1p", in: text)] == 2)
        #expect(reserved.byLine[line("truncate db 2p", in: text)] == 1)
        #expect(reserved.byLine[line("load f+1p", in: text)] == 1)
        #expect(reserved.byLine[line("munlock f+1p", in: text)] == 0)
        #expect(reserved.byLine[line("load f =>", in: text)] == 0)
    }

    /// Under unwire=pmap a vslock inside an mlocked range wires nothing through the pmap: the
    /// entry stays wired by the mlock, so vsunlock has no pmap unwiring to balance, and the
    /// munlock afterwards finds exactly the mlock's wires.
    @Test func aVslockInsideAnMlockUnderUnwirePmapLeavesNothingWired() async throws {
        let text = """
            machine ram=32p
            policy unwire=pmap
            proc A memlock=8p
            A: a = mmap anon 2p
            A: mlock a 2p => ok
            A: h = vslock a 2p rw => ok
            A: vsunlock h => ok
            expect wired = 2p
            A: munlock a 2p => ok
            expect wired = 0p
            """
        expectPass(try await run(text))
    }

    /// A read-only vslock of a page still shared copy-on-write reserves the wired page its
    /// copy will need; with no room left for it the vslock is refused (EAGAIN), and with room
    /// the reservation lasts exactly as long as the hold.
    @Test func aReadOnlyVslockOfASharedPageReservesItsCopy() async throws {
        let text = """
            machine ram=32p wiredmax=2p
            proc A memlock=8p
            A: b = mmap anon 2p
            A: fill b 2p 0x11 => ok
            A: C = fork
            A: full = vslock b 2p r => EAGAIN
            expect wired = 0p
            A: h = vslock b 1p r => ok
            A: store b 0x22 => ok
            expect wired = 2p
            A: vsunlock h => ok
            A: h2 = vslock b+1p 1p rw => ok
            A: vsunlock h2 => ok
            expect wired = 0p
            """
        var options = RunOptions()
        options.auditEveryStep = true
        var reservedAt: [Int: Int] = [:]
        options.beforeOperation = { k, l in reservedAt[l] = k.uvm.mem.wiredReserved }
        expectPass(try await run(text, options: options))
        #expect(reservedAt[line("store b 0x22", in: text)] == 1)
        #expect(reservedAt[line("h2 = vslock", in: text)] == 0)
        #expect(reservedAt[line("vsunlock h2", in: text)] == 0)
    }

    /// Two threads vsunlock one handle: whichever gets the map lock second finds it undone,
    /// even past the check it made before waiting, so exactly one of them succeeds.
    @Test func racingVsunlocksOfOneHandleSucceedExactlyOnce() async throws {
        let text = """
            proc A
            thread T1 in A
            thread T2 in A
            A: q = mmap anon 2p
            A: h = vslock q 2p
            together
              T1: vsunlock h => ok|EINVAL
              T2: vsunlock h => ok|EINVAL
            end
            expect wired = 0p
            """
        for seed in 0..<24 as Range<UInt64> {
            let r = try await run(text, seed: seed)
            expectPass(r)
            let answers = r.lines.filter { $0.contains(": vsunlock h ->") }
            #expect(answers.count(where: { $0.hasSuffix("-> ok") }) == 1, "seed \(seed): \(answers)")
        }
    }
}
