// Answers to the values NetBSD refuses or treats specially, checked against its source
// (sys/uvm/uvm_mmap.c, uvm_map.c, sys/kern/sysv_shm.c, vfs_vnops.c): each test names the
// function whose behaviour it pins down.

import Testing
import UVMRunner
import UVMSched

@Suite @Sim struct RawArgumentAnswerTests {
    /// sys_shmat and sys_shmctl take the id as an `int`: a literal passes as its low 32 bits, so
    /// 2⁶⁴−1 is -1 (EINVAL) and 2³²+id names the segment id.
    @Test func aShmIdPassesAsAnInt() async throws {
        let text = """
            proc A
            A: s = shmget size=1p
            A: shmat 0xffffffffffffffff => EINVAL
            A: shmctl 0xffffffff rmid => EINVAL
            A: x = shmat 0x100000001
            A: store x 0x11
            A: shmdt x
            """
        let r = try await run(text)
        expectPass(r)
        #expect(r.result(line("shmget", in: text)) == "1")
    }

    /// sys___msync13 checks the flags before range_test: a bad range with bad flags is EINVAL,
    /// with good flags ENOMEM (this kernel's answer for a range outside the address space).
    @Test func msyncChecksItsFlagsBeforeTheRange() async throws {
        let text = """
            proc A
            A: msync 0xfffffffffffff000 2p sync,async => EINVAL
            A: msync 0xfffffffffffff000 2p sync => ENOMEM
            """
        expectPass(try await run(text))
    }

    /// uvm_mmap: a MAP_WIRED mapping that would pass RLIMIT_MEMLOCK is unmapped again and the
    /// call is ENOMEM; what was wired before stays wired.
    @Test func aWiredMappingPastTheLimitIsRemoved() async throws {
        let text = """
            proc A memlock=3p
            A: a = mmap anon 2p wired
            expect wired = 2p
            A: mmap anon 2p wired fixed=a+2p => ENOMEM
            A: load a+2p => SIGSEGV
            A: load a+1p => 0x00
            expect wired = 2p
            """
        expectPass(try await run(text))
    }

    /// uvm_mapent_forkzero: a wired MAP_INHERIT_ZERO range reaches the child as fresh, unwired
    /// memory, and a grandchild inherits the zeroing too (the child's entry keeps the inheritance).
    @Test func inheritZeroGivesFreshUnwiredMemoryToEveryGeneration() async throws {
        let text = """
            proc A memlock=8p
            A: a = mmap anon 2p wired
            A: fill a 2p 0x77 => ok
            A: minherit a 2p zero => ok
            A: B = fork
            B: check a 2p 0x00 => ok
            B: store a 0x12 => ok
            B: C = fork
            C: load a => 0x00
            A: check a 2p 0x77 => ok
            expect wired = 2p
            """
        expectPass(try await run(text))
    }

    /// sys_shmget: IPC_CREAT|IPC_EXCL on a key in use is EEXIST before the mode is checked, and
    /// an IPC_PRIVATE segment is never found by key.
    @Test func shmgetAnswersExclusiveBeforePermission() async throws {
        let text = """
            proc A uid=1000
            proc B uid=2000
            A: s = shmget key=7 size=1p creat mode=0600
            B: shmget key=7 creat excl mode=0600 => EEXIST
            B: shmget key=7 mode=0600 => EACCES
            A: p = shmget size=1p
            A: shmctl p stat size => 4096
            A: shmget key=0 size=0 => EINVAL
            """
        expectPass(try await run(text))
    }

    /// vn_mmap: a private mapping of a read-only descriptor keeps VM_PROT_WRITE in its maximum
    /// protection, so mprotect may add it; the file does not change.
    @Test func aPrivateMappingOfAReadOnlyFileMayBecomeWritable() async throws {
        let text = """
            file db size=1p fill=0x21
            proc A
            A: p = mmap file=db 1p private prot=r mode=r
            A: mprotect p 1p rw => ok
            A: store p 0x22 => ok
            A: f = mmap file=db 1p shared prot=r mode=r
            A: load f => 0x21
            """
        expectPass(try await run(text))
    }
}
