// shmget by key with IPC_CREAT, IPC_EXCL and a mode; shmctl's IPC_STAT fields; the open mode
// of a mapped file.

import Testing
@testable import UVMScenario

@Suite struct ShmAndOpenModeFormTests {
    @Test(arguments: [
        ("A: shmget key=42", Command.shmget(size: nil, key: 42)),
        ("A: shmget key=42 size=2p creat excl mode=0644",
         .shmget(size: Size(2, .pages), key: 42, create: true, exclusive: true, mode: 0o644)),
        ("A: shmget size=1p key=0", .shmget(size: Size(1, .pages))),
        ("A: shmctl seg stat nattch", .shmctl(id: "seg", .stat(.nattch))),
        ("A: shmctl 3 stat mode", .shmctl(id: "3", .stat(.mode))),
        ("A: mmap file=db 1p shared mode=r", .mmapFile(file: "db", length: Size(1, .pages), offset: nil, prot: nil,
                                                       maxProt: nil, share: .shared, fixed: nil, openMode: .read)),
    ])
    func commands(text: String, command: Command) {
        #expect(operation(text)?.command == command)
    }

    @Test func refusals() {
        #expect(failure("A: shmget creat")?.message == "expected size=SIZE for 'shmget', found end of line")
        #expect(failure("A: shmget key=1 mode=0800")?.message
                == "expected permission bits in octal (0600) after 'mode=', found '0800'")
        #expect(failure("A: shmctl seg stat owner")?.message
                == "expected size, nattch, mode or locked after 'shmctl seg stat', found 'owner'")
        #expect(failure("A: shmctl seg lookup")?.message == "expected lock, unlock, rmid or stat FIELD for 'shmctl', found 'lookup'")
        #expect(failure("A: mmap file=db 1p mode=x")?.message == "expected r, w or rw after 'mode=', found 'x'")
    }
}
