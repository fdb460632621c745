// Every operation of the language (docs/scenario-language.md) parses into its command; actors,
// bindings and `=>` results.

import Testing
@testable import UVMScenario

@Suite struct OperationTests {
    // Each line starts `A: ` and puts its first ADDR at column 11 or later; the column is part of
    // the expected Address, so a wrong column fails the comparison.
    @Test(arguments: [
        // Memory.
        ("A: mmap anon 4p", Command.mmapAnon(length: Size(4, .pages), prot: nil, maxProt: nil, share: nil, fixed: nil)),
        ("A: mmap anon 1M fixed=0x10000+1p shared maxprot=rw prot=r",
         .mmapAnon(length: Size(1, .mib), prot: .read, maxProt: [.read, .write], share: .shared,
                   fixed: Address(base: .literal(0x10000), offsets: [plus(1, .pages)], location: at(1, 23)))),
        ("A: mmap file=db 2p", .mmapFile(file: "db", length: Size(2, .pages), offset: nil, prot: nil, maxProt: nil, share: nil, fixed: nil)),
        ("A: mmap file=db 2p private off=1p prot=rx",
         .mmapFile(file: "db", length: Size(2, .pages), offset: Size(1, .pages), prot: [.read, .execute], maxProt: nil,
                   share: .private, fixed: nil)),
        ("A: mmap device=tape 1p prot=rw", .mmapDevice(device: "tape", length: Size(1, .pages), prot: [.read, .write])),
        ("A: munmap buf 4p", .munmap(variable("buf", 11), Size(4, .pages))),
        ("A: mprotect buf 4p none", .mprotect(variable("buf", 13), Size(4, .pages), [])),
        ("A: minherit buf 1p share", .minherit(variable("buf", 13), Size(1, .pages), .share)),
        ("A: minherit buf 1p none", .minherit(variable("buf", 13), Size(1, .pages), .none)),
        ("A: madvise buf 1p dontneed", .madvise(variable("buf", 12), Size(1, .pages), .dontneed)),
        ("A: madvise buf 1p free", .madvise(variable("buf", 12), Size(1, .pages), .free)),
        ("A: msync buf 1p", .msync(variable("buf", 10), Size(1, .pages), nil)),
        ("A: msync buf 1p invalidate", .msync(variable("buf", 10), Size(1, .pages), .invalidate)),
        ("A: mincore buf 4p", .mincore(variable("buf", 12), Size(4, .pages))),
        ("A: load buf+100", .load(variable("buf", 9, plus(100)))),
        ("A: store buf 0x42", .store(variable("buf", 10), 0x42)),
        ("A: store buf 255", .store(variable("buf", 10), 255)),
        ("A: fill buf 2p 0xff", .fill(variable("buf", 9), Size(2, .pages), 0xff)),
        ("A: check buf 2p 0", .check(variable("buf", 10), Size(2, .pages), 0)),
        // Wiring.
        ("A: mlock buf 2p", .mlock(variable("buf", 10), Size(2, .pages))),
        ("A: munlock buf 2p", .munlock(variable("buf", 12), Size(2, .pages))),
        ("A: mlockall current", .mlockall(current: true, future: false)),
        ("A: mlockall future", .mlockall(current: false, future: true)),
        ("A: mlockall current,future", .mlockall(current: true, future: true)),
        ("A: mlockall future, current", .mlockall(current: true, future: true)),
        ("A: munlockall", .munlockall),
        ("A: shmget size=4p", .shmget(size: Size(4, .pages))),
        ("A: shmat seg", .shmat(id: "seg", readOnly: false)),
        ("A: shmat 3 ro", .shmat(id: "3", readOnly: true)),
        ("A: shmdt shm+1p", .shmdt(variable("shm", 10, plus(1, .pages)))),
        ("A: shmctl seg lock", .shmctl(id: "seg", .lock)),
        ("A: shmctl 0x7 rmid", .shmctl(id: "0x7", .rmid)),
        ("A: vslock buf 2p", .vslock(variable("buf", 11), Size(2, .pages), nil)),
        ("A: vslock buf 2p r", .vslock(variable("buf", 11), Size(2, .pages), .read)),
        ("A: vslock buf 2p rw", .vslock(variable("buf", 11), Size(2, .pages), .readWrite)),
        ("A: vsunlock h", .vsunlock(handle: "h")),
        ("A: dma h write 0x5a", .dmaWrite(handle: "h", 0x5a)),
        ("A: dma h read", .dmaRead(handle: "h")),
        ("A: physio tape write buf 1p", .physio(device: "tape", .write, variable("buf", 22), Size(1, .pages))),
        ("A: sysctl buf 100", .sysctl(variable("buf", 11), Size(100))),
        ("A: loan buf 1p", .loan(variable("buf", 9), Size(1, .pages))),
        ("A: unloan l", .unloan(handle: "l")),
        ("A: ptrace B read text", .ptraceRead(proc: "B", variable("text", 18))),
        ("A: ptrace B write text+4 0xcc", .ptraceWrite(proc: "B", variable("text", 19, plus(4)), 0xcc)),
        // Files and processes.
        ("A: truncate db 1p", .truncate(file: "db", Size(1, .pages))),
        ("A: write db off=0 from=buf len=1p", .write(file: "db", offset: Size(0), from: variable("buf", 24), length: Size(1, .pages))),
        ("A: read db len=2p to=buf-1p off=4K", .read(file: "db", offset: Size(4, .kib), to: variable("buf", 22, minus(1, .pages)),
                                                     length: Size(2, .pages))),
        ("A: fsync db", .fsync(file: "db")),
        ("A: child = fork", .fork),
        ("A: exec", .exec),
        ("A: exit", .exit),
        ("kernel: pagedaemon", .pagedaemon(pages: nil)),
        ("kernel: pagedaemon pages=16", .pagedaemon(pages: 16)),
    ])
    func commands(text: String, command: Command) {
        #expect(operation(text)?.command == command)
    }

    @Test func actorAndBinding() {
        let mapped = operation("T2: buf = mmap anon 2p")
        #expect(mapped?.actor == "T2")
        #expect(mapped?.binding == "buf")
        #expect(mapped?.location == at(1, 1))
        #expect(mapped?.expected == nil)
        #expect(mapped?.expectedLocation == nil)
        let child = operation("A:child=fork")
        #expect(child?.binding == "child")
        #expect(child?.command == .fork)
        #expect(operation("kernel: munmap buf 1p")?.actor == "kernel")
        // `NAME:` makes an operation even when NAME is a statement keyword.
        #expect(operation("file: load buf")?.actor == "file")
    }

    @Test(arguments: [
        ("=> ok", [ExpectedResult.ok]),
        ("=> EINVAL", [.errno("EINVAL")]),
        ("=> E2BIG", [.errno("E2BIG")]),
        ("=> SIGSEGV", [.signal("SIGSEGV")]),
        ("=> SIGBUS", [.signal("SIGBUS")]),
        ("=> 0x42", [.byte(0x42)]),
        ("=> 0x0", [.byte(0)]),
        ("=> 1100", [.bits("1100")]),
        ("=> 1", [.bits("1")]),
        ("=> 42", [.value("42")]),
        ("=> 0x10000", [.value("0x10000")]),
        ("=> ok|EAGAIN", [.ok, .errno("EAGAIN")]),
        ("=> ok | ENOMEM | EAGAIN", [.ok, .errno("ENOMEM"), .errno("EAGAIN")]),
        ("=> SIGSEGV|SIGBUS # either", [.signal("SIGSEGV"), .signal("SIGBUS")]),
    ])
    func expectedResults(text: String, results: [ExpectedResult]) {
        let load = operation("A: load buf \(text)")
        #expect(load?.expected == results)
        #expect(load?.expectedLocation == at(1, 13))
        #expect(load?.command == .load(variable("buf", 9)))
    }
}
