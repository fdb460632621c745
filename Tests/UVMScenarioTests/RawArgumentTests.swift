// The forms that let a scenario pass a system call the values NetBSD refuses: flags as numbers,
// both sharing words, MAP_ANON with a descriptor, and the mapping flags MAP_WIRED and
// MAP_INHERIT_ZERO.

import Testing
@testable import UVMScenario

@Suite struct RawArgumentTests {
    @Test(arguments: [
        ("A: mlockall 0", Command.mlockall(current: false, future: false)),
        ("A: mlockall 0x3", .mlockall(current: true, future: true)),
        ("A: mlockall 0x6", .mlockall(current: false, future: true, otherBits: 4)),
        ("A: msync buf 1p sync,invalidate", .msync(variable("buf", 10), Size(1, .pages), [.sync, .invalidate])),
        ("A: msync buf 1p sync,async", .msync(variable("buf", 10), Size(1, .pages), [.sync, .async])),
        ("A: msync buf 1p 0x8", .msync(variable("buf", 10), Size(1, .pages), SyncMode(rawValue: 8))),
        ("A: msync buf 1p 0", .msync(variable("buf", 10), Size(1, .pages), [])),
        ("A: madvise buf 1p sequential", .madvise(variable("buf", 12), Size(1, .pages), .sequential)),
        ("A: madvise buf 1p 5", .madvise(variable("buf", 12), Size(1, .pages), Advice(rawValue: 5))),
        ("A: minherit buf 1p zero", .minherit(variable("buf", 13), Size(1, .pages), .zero)),
        ("A: minherit buf 1p 3", .minherit(variable("buf", 13), Size(1, .pages), Inheritance(rawValue: 3))),
        ("A: mmap anon 1p shared,private", .mmapAnon(length: Size(1, .pages), prot: nil, maxProt: nil, share: .both, fixed: nil)),
        ("A: mmap anon 1p wired file=db", .mmapAnon(length: Size(1, .pages), prot: nil, maxProt: nil, share: nil, fixed: nil,
                                                    wired: true, file: "db")),
        ("A: mmap file=db 1p private wired", .mmapFile(file: "db", length: Size(1, .pages), offset: nil, prot: nil, maxProt: nil,
                                                       share: .private, fixed: nil, wired: true)),
    ])
    func commands(text: String, command: Command) {
        #expect(operation(text)?.command == command)
    }

    @Test func theNamedAndTheNumericSpellingAreTheSameValue() {
        #expect(operation("A: madvise b 1p 4")?.command == operation("A: madvise b 1p dontneed")?.command)
        #expect(operation("A: minherit b 1p 0")?.command == operation("A: minherit b 1p share")?.command)
        #expect(operation("A: msync b 1p 0x6")?.command == operation("A: msync b 1p sync,invalidate")?.command)
        #expect(operation("A: mlockall 2")?.command == operation("A: mlockall future")?.command)
    }

    @Test func aWordThatIsNeitherAChoiceNorANumberNamesBoth() {
        #expect(failure("A: madvise b 1p often")?.message
                == "expected normal, random, sequential, willneed, dontneed, free or a number for 'madvise', found 'often'")
        #expect(failure("A: msync b 1p sync,") != nil)
        #expect(failure("A: mmap anon 1p shared,shared") != nil)
        #expect(failure("A: mmap anon 1p shared private") != nil)
        #expect(failure("A: mmap device=fb 1p wired") != nil)
    }
}
