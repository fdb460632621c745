// Setup statements, expectations and `together` blocks.

import Foundation
import Testing
@testable import UVMScenario

@Suite struct StatementTests {
    @Test(arguments: [
        ("machine", Statement.Kind.machine(ram: nil, pageSize: nil, swap: nil, wiredMax: nil, shmSeg: nil)),
        ("machine ram=256p pagesize=4K swap=1M wiredmax=100p",
         .machine(ram: Size(256, .pages), pageSize: Size(4, .kib), swap: Size(1, .mib), wiredMax: Size(100, .pages), shmSeg: nil)),
        ("machine wiredmax=10p ram=0x40p", .machine(ram: Size(64, .pages), pageSize: nil, swap: nil, wiredMax: Size(10, .pages), shmSeg: nil)),
        ("machine shmseg=2", .machine(ram: nil, pageSize: nil, swap: nil, wiredMax: nil, shmSeg: 2)),
        ("policy modern", .policy(knob: "modern", value: "")),
        ("policy truncate=free", .policy(knob: "truncate", value: "free")),
        ("policy wire-loan=keep", .policy(knob: "wire-loan", value: "keep")),
        ("policy vnode-fault=busy-then-lock", .policy(knob: "vnode-fault", value: "busy-then-lock")),
        ("policy wiring = shared-count", .policy(knob: "wiring", value: "shared-count")),
        ("file db size=4p", .file(name: "db", size: Size(4, .pages), fill: 0)),
        ("file db.dat fill=0x5a size=8K", .file(name: "db.dat", size: Size(8, .kib), fill: 0x5a)),
        ("file bad size=2p badpage=1", .file(name: "bad", size: Size(2, .pages), fill: 0, badPage: 1)),
        ("device tape", .device(name: "tape", pattern: 0xa5)),
        ("device tape pattern=7", .device(name: "tape", pattern: 7)),
        ("proc A", .proc(name: "A", uid: 1000, memlock: nil)),
        ("proc root uid=0 memlock=16p", .proc(name: "root", uid: 0, memlock: Size(16, .pages))),
        ("proc B memlock=1M uid=4294967295", .proc(name: "B", uid: .max, memlock: Size(1, .mib))),
        ("thread T2 in A", .thread(name: "T2", proc: "A")),
    ])
    func setupStatements(text: String, kind: Statement.Kind) {
        let parsed = statements(text)
        #expect(parsed.map(\.kind) == [kind])
        #expect(parsed.first?.location == at(1, 1))
    }

    @Test(arguments: [
        ("expect wired = 3p", UVMScenario.Expectation.Kind.wired(proc: nil, Size(3, .pages))),
        ("expect wired A = 12K", .wired(proc: "A", Size(12, .kib))),
        ("expect free = 200p", .free(Size(200, .pages))),
        ("expect locked A buf 2p = yes", .locked(proc: "A", variable("buf", 17), Size(2, .pages), true)),
        ("expect locked A buf+1p 1p = no", .locked(proc: "A", variable("buf", 17, plus(1, .pages)), Size(1, .pages), false)),
        ("expect resident B buf 4p = 0110", .resident(proc: "B", variable("buf", 19), Size(4, .pages), "0110")),
        ("expect device tape = 0xa5", .device(name: "tape", 0xa5)),
    ])
    func expectations(text: String, kind: UVMScenario.Expectation.Kind) {
        #expect(statements(text).map(\.kind) == [.expect(UVMScenario.Expectation(kind: kind, location: at(1, 1)))])
    }

    @Test func togetherBlock() {
        let parsed = statements("""
            proc A
            together
              A:  physio tape read buf 2p
                T2: truncate db 0   # indented freely
            kernel: pagedaemon
            end
            A: load buf
            """)
        #expect(parsed.map(\.location) == [at(1, 1), at(2, 1), at(7, 1)])
        guard parsed.count == 3, case .together(let operations) = parsed[1].kind else {
            Issue.record("no together block")
            return
        }
        #expect(operations.map(\.actor) == ["A", "T2", "kernel"])
        #expect(operations.map(\.location) == [at(3, 3), at(4, 5), at(5, 1)])
        #expect(operations[0].command == .physio(device: "tape", .read, Address(base: .variable("buf"), location: at(3, 24)),
                                                 Size(2, .pages)))
        #expect(operations[1].command == .truncate(file: "db", Size(0)))
        #expect(operations[2].command == .pagedaemon(pages: nil))
    }

    @Test func procAndThreadBetweenOperations() {
        let parsed = statements("""
            proc A
            A: buf = mmap anon 1p
            thread T2 in A
            T2: store buf 1
            proc B uid=0
            """)
        #expect(parsed.count == 5)
        #expect(parsed[2].kind == .thread(name: "T2", proc: "A"))
        #expect(parsed[4].kind == .proc(name: "B", uid: 0, memlock: nil))
    }

    /// A catalog-style scenario (W1) written the way docs/catalog.md writes them.
    @Test func wholeScenario() throws {
        let scenario = try parse("""
            # W1: truncation frees a page that a DMA still targets.
            machine ram=64p wiredmax=32p
            policy truncate=free
            file db size=4p fill=0x11
            device tape pattern=0x42
            proc A
            thread T2 in A
            A: buf = mmap file=db 4p shared
            A: store buf+1p 0x22 => ok
            A: h = vslock buf 2p w
            together
              A: dma h write 0x33
              T2: truncate db 0
              kernel: pagedaemon pages=8
            end
            A: vsunlock h => ok
            expect wired = 0p
            expect device tape = 0x42
            A: exit
            """)
        #expect(scenario.file == testFile)
        #expect(scenario.statements.count == 14)
        #expect(scenario.statements.map(\.location.line) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19])
    }

    @Test func readsFiles() throws {
        let path = "/tmp/uvm-scenario-test-\(UInt64.random(in: 0 ... .max)).uvm"
        try "proc A\nA: exit\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (scenario, text) = try ScenarioParser.parse(contentsOf: path)
        #expect(text == "proc A\nA: exit\n")
        #expect(scenario.file == path)
        #expect(scenario.statements.map(\.location) == [UVMScenario.SourceLocation(file: path, line: 1, column: 1),
                                                        UVMScenario.SourceLocation(file: path, line: 2, column: 1)])
    }

    @Test func unreadableFile() {
        #expect(throws: ScenarioError(location: UVMScenario.SourceLocation(file: "/nonexistent/x.uvm", line: 0, column: 0),
                                      message: "no such file")) {
            try ScenarioParser.parse(contentsOf: "/nonexistent/x.uvm")
        }
        #expect(throws: ScenarioError(location: UVMScenario.SourceLocation(file: "/tmp", line: 0, column: 0),
                                      message: "is a directory, not a scenario file")) {
            try ScenarioParser.parse(contentsOf: "/tmp")
        }
        #expect(ScenarioError(location: UVMScenario.SourceLocation(file: "x.uvm", line: 0, column: 0), message: "no such file")
            .description == "x.uvm: no such file")
    }
}
