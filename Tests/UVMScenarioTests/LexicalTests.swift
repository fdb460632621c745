// Sizes, addresses, protections, comments and line structure.

import Testing
@testable import UVMScenario

@Suite struct LexicalTests {
    @Test(arguments: [
        ("4K", Size(4, .kib)), ("2p", Size(2, .pages)), ("0x10", Size(16)), ("1M", Size(1, .mib)),
        ("3G", Size(3, .gib)), ("4096", Size(4096)), ("0x1000p", Size(0x1000, .pages)), ("0X1fK", Size(31, .kib)),
        ("18446744073709551615", Size(.max)), ("17179869183G", Size(17_179_869_183, .gib)),
    ])
    func sizeUnits(text: String, size: Size) {
        guard case .machine(let ram, nil, nil, nil, nil)? = statements("machine ram=\(text)").first?.kind else {
            Issue.record("not a machine statement")
            return
        }
        #expect(ram == size)
    }

    @Test(arguments: [
        (Size(3), 4096, 3), (Size(2, .pages), 4096, 8192), (Size(2, .pages), 16384, 32768), (Size(4, .kib), 4096, 4096),
        (Size(1, .mib), 4096, 1 << 20), (Size(3, .gib), 4096, 3 << 30), (Size(1 << 63, .pages), 4096, nil),
    ] as [(Size, UInt64, UInt64?)])
    func sizeInBytes(size: Size, pageSize: UInt64, bytes: UInt64?) {
        #expect(size.bytes(pageSize: pageSize) == bytes)
    }

    @Test(arguments: [
        ("buf", variable("buf", 9)),
        ("buf+2p", variable("buf", 9, plus(2, .pages))),
        ("buf+1p+100", variable("buf", 9, plus(1, .pages), plus(100))),
        ("buf-4K", variable("buf", 9, minus(4, .kib))),
        ("buf + 1p - 0x10", variable("buf", 9, plus(1, .pages), minus(16))),
        ("region.b_2", variable("region.b_2", 9)),
        ("0x10000", Address(base: .literal(0x10000), location: at(1, 9))),
        ("0x10000+1p", Address(base: .literal(0x10000), offsets: [plus(1, .pages)], location: at(1, 9))),
        ("65536", Address(base: .literal(65536), location: at(1, 9))),
    ])
    func addressForms(text: String, address: Address) {
        #expect(operation("A: load \(text)")?.command == .load(address))
    }

    @Test func addressArithmetic() {
        let address = variable("buf", 1, plus(2, .pages), minus(100), plus(1, .kib))
        #expect(address.applyingOffsets(to: 0x10000, pageSize: 4096) == 0x10000 + 8192 - 100 + 1024)
        #expect(variable("buf", 1, minus(1)).applyingOffsets(to: 0, pageSize: 4096) == nil)
        #expect(variable("buf", 1, plus(1, .pages)).applyingOffsets(to: .max - 10, pageSize: 4096) == nil)
    }

    @Test(arguments: [
        ("r", Protection.read), ("w", .write), ("x", .execute), ("rw", [.read, .write]), ("rx", [.read, .execute]),
        ("wx", [.write, .execute]), ("rwx", [.read, .write, .execute]), ("none", []),
    ] as [(String, Protection)])
    func protections(text: String, protection: Protection) {
        #expect(operation("A: mprotect buf 1p \(text)")?.command == .mprotect(variable("buf", 13), Size(1, .pages), protection))
    }

    @Test(arguments: ["wr", "rr", "xr", "rwxr", "R", "read"])
    func protectionsOutOfOrder(text: String) {
        #expect(failure("A: mprotect buf 1p \(text)")?.location == at(1, 20))
    }

    @Test func commentsAndBlankLines() {
        let parsed = statements("""
            # a whole-line comment

              \t
            machine ram=64p # after a statement
            proc A#right against a name
            A: load buf => 0x00 # after a result
            """)
        #expect(parsed.count == 3)
        #expect(parsed.map(\.location) == [at(4, 1), at(5, 1), at(6, 1)])
        guard case .operation(let load)? = parsed.last?.kind else { return }
        #expect(load.expected == [.byte(0)])
        #expect(load.expectedLocation == at(6, 13))
    }

    @Test func crlfLineEndsAndTabs() {
        let parsed = statements("proc A\r\n\tA: load buf\r\n")
        #expect(parsed.count == 2)
        guard case .operation(let load)? = parsed.last?.kind else { return }
        #expect(load.location == at(2, 2))
        #expect(load.command == .load(Address(base: .variable("buf"), location: at(2, 10))))
    }

    @Test func emptyFile() throws {
        #expect(try parse("").statements.isEmpty)
        #expect(try parse("# nothing\n\n").statements.isEmpty)
    }

    @Test func locationsPrintLikeACompiler() {
        #expect(at(3, 14).description == "test.uvm:3:14")
        let error = ScenarioError(location: at(3, 14), message: "expected a SIZE")
        #expect(error.description == "test.uvm:3:14: expected a SIZE")
    }
}
