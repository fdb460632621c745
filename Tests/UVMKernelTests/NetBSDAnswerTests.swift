// Answers checked against NetBSD's source (sys/uvm/uvm_map.c, uvm_mmap.c,
// sys/kern/sysv_shm.c): each test names the function whose behaviour it pins down.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct NetBSDAnswerTests {
    /// uvm_map_clean with PGO_FREE: when the entry's amap has no other reference, each anon
    /// leaves it (amap_unadd) and loses that reference, freed when it was the last — an anon
    /// still shared copy-on-write with the parent stays the parent's. The child reads zeros on
    /// both pages, the parent keeps its data.
    @Test func madviseFreeAfterForkDropsTheChildsReferences() async throws {
        let text = """
            proc A
            A: a = mmap anon 2p
            A: fill a 2p 0x11
            A: K = fork
            K: store a 0x22
            K: madvise a 2p free => ok
            K: check a 2p 0x00 => ok
            A: check a 2p 0x11 => ok
            """
        expectPass(try await run(text))
    }

    /// sys_mincore: `end = start + round_page(len); if (end <= start) return EINVAL`. A
    /// wrapping length is the kernel's EINVAL, not the scenario error of a too long answer
    /// (found by an outside generator), which stays for a range the call would answer for.
    @Test func aWrappingMincoreIsEinval() async throws {
        let text = """
            proc A
            A: a = mmap anon 1p
            A: mincore a 18446744073709551615 => EINVAL
            A: mincore a 0xfffffffffffff000 => EINVAL
            """
        expectPass(try await run(text))
        await #expect(throws: ScenarioError.self) { try await run("proc A\nA: a = mmap anon 1p\nA: mincore a 2000000p\n") }
    }

    /// vn_mmap: a negative offset is EINVAL, a mapping that would end past OFF_T_MAX EOVERFLOW
    /// ("no offset wrapping"; it was EINVAL here, found by an outside generator). A mapping
    /// that ends at OFF_T_MAX is made, and far past the end of the file its load is SIGBUS.
    @Test func aFileMappingPastOffTMaxIsEoverflow() async throws {
        let text = """
            file f size=2p fill=0x41
            proc A
            A: mmap file=f 1p off=0x7ffffffffffff000 => EOVERFLOW
            A: mmap file=f 0x2000 off=0x7fffffffffffe001 => EOVERFLOW
            A: mmap file=f 1p off=0x8000000000000000 => EINVAL
            A: m = mmap file=f 1p off=0x7fffffffffffe000
            A: load m => SIGBUS
            """
        expectPass(try await run(text))
    }

    /// do_setresuid sets PK_SUGID when the uid changes, fork passes it on, exec clears it; and
    /// ptrace_listener_cb refuses an unprivileged tracer a target with it (found by an outside
    /// generator: a process that left uid 0 was traced by a process of its new uid). And no
    /// process traces itself: ptrace_allowed refuses PT_ATTACH to oneself (EINVAL).
    @Test func aProcessWhoseUidChangedIsTracedOnlyByPrivilege() async throws {
        let text = """
            proc A uid=1000
            proc R uid=0
            R: r = mmap anon 1p
            R: store r 0x42 => ok
            A: ptrace R read r => EPERM
            R: setuid 1000 => ok
            A: ptrace R read r => EPERM
            A: ptrace R write r 0x11 => EPERM
            R: C = fork => ok
            A: ptrace C read r => EPERM
            R: setuid 1000 => ok
            R: exec => ok
            R: s = mmap anon 1p
            A: ptrace R read s => 0x00
            A: ptrace C read r => EPERM
            R: ptrace R read s => EINVAL
            """
        expectPass(try await run(text))
    }

    /// uvm_map_pageable_all and uvm_mmap test `limit != 0 && size + wired > limit`: an
    /// RLIMIT_MEMLOCK of 0 is no limit for mlockall and for MCL_FUTURE wiring of new mappings.
    /// sys_mlock compares with the limit as it is, so plain mlock still gets EAGAIN.
    @Test func memlockLimitOfZeroIsNoLimitForMlockallAndFutureMappings() async throws {
        let text = """
            proc A memlock=0
            A: a = mmap anon 2p
            A: mlock a 2p => EAGAIN
            A: mlockall current,future => ok
            expect wired = 2p
            A: b = mmap anon 3p
            expect wired = 5p
            """
        expectPass(try await run(text))
    }

    /// uvm_map_pageable_all sizes its request from entries that are neither PROT_NONE nor
    /// wired already (`entry->protection != VM_PROT_NONE && VM_MAPENT_ISWIRED(entry) == 0`), so
    /// a guard region does not count against RLIMIT_MEMLOCK.
    @Test func mlockallLeavesProtNoneGuardsOutOfItsSize() async throws {
        let text = """
            proc A memlock=2p
            A: a = mmap anon 2p
            A: g = mmap anon 4p prot=none
            A: mlockall current => ok
            expect wired = 2p
            """
        expectPass(try await run(text))
    }

    /// A wiring fault past the end of the file fails in genfs_getpages with EINVAL, which
    /// uvm_fault_wire passes up unchanged: mlockall returns it as it is (uvm_map_pageable_all),
    /// and so does mlock, which turns only EFAULT into ENOMEM (sys_mlock). Nothing stays wired.
    @Test func wiringPastEndOfFileIsEINVAL() async throws {
        let text = """
            file db size=1p fill=0x41
            proc A
            A: f = mmap file=db 2p shared
            A: mlock f 2p => EINVAL
            expect wired = 0p
            A: mlockall current => EINVAL
            expect wired = 0p
            A: mlock f 1p => ok
            expect wired = 1p
            """
        expectPass(try await run(text))
    }

    /// sys_shmat wires an attachment only for shm_use_phys or an SHM_LOCKed segment; MCL_FUTURE
    /// is acted on by uvm_mmap, uvm_map_protect, uvm_map_pageable_all and exec, not by shmat.
    @Test func shmatUnderMlockallFutureDoesNotWire() async throws {
        let text = """
            machine ram=32p wiredmax=2p
            proc A uid=0
            A: mlockall future => ok
            A: id = shmget size=4p
            A: s = shmat id
            A: fill s 4p 0x11 => ok
            expect wired = 0p
            A: a = mmap anon 1p
            expect wired = 1p
            """
        expectPass(try await run(text))
    }

    /// uvm_mmap returns uvm_map_pageable's error unchanged when MCL_FUTURE cannot wire a new
    /// mapping, and unmaps it: a shared mapping past the end of its file is EINVAL (genfs's
    /// getpages past EOF), not ENOMEM, and the address is free again.
    @Test func futureWiringOfANewMappingReturnsTheFaultsError() async throws {
        let text = """
            file db size=1p fill=0x41
            proc A
            A: mlockall future => ok
            A: f = mmap file=db 2p shared => EINVAL
            expect wired = 0p
            A: g = mmap file=db 1p shared
            expect wired = 1p
            A: load g => 0x41
            """
        expectPass(try await run(text))
    }

    /// uvm_map_protect calls any failure of MCL_FUTURE's wiring a resource shortage (ENOMEM),
    /// whatever uvm_map_pageable returned, and leaves the new protection in place.
    @Test func futureWiringOnMprotectIsENOMEMWhateverTheCause() async throws {
        let text = """
            file db size=1p fill=0x41
            proc A
            A: mlockall future => ok
            A: f = mmap file=db 2p prot=none shared
            expect wired = 0p
            A: mprotect f 2p r => ENOMEM
            expect wired = 0p
            A: load f => 0x41
            A: load f+1p => SIGBUS
            """
        expectPass(try await run(text))
    }
}
