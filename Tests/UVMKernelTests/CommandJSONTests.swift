// `explore`, `bench`, `check` and `fuzz` with `--json` print one document each, whatever the
// number of files, and each fits its schema in docs/schema/.

import Foundation
import Testing

@Suite(.serialized) struct CommandJSONTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func schema(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("docs/schema/\(name).schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func document(_ output: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "one document: \(output.prefix(200))")
    }

    @Test func exploreOfTwoFilesIsOneDocumentWithTheTextsFacts() throws {
        let schema = try schema("explore")
        let pass = Self.root.appendingPathComponent("scenarios/examples/trust/shmat-where-an-attachment-was-unmapped.uvm").path
        let bug = Self.root.appendingPathComponent("scenarios/catalog/W02-vslock-same-page-twice.uvm").path
        let run = try UVMExecutable.run(["explore", "--json", "--runs", "20", pass, bug, "--policy", "vslock=busy"])
        #expect(run.status == 2)
        let doc = try document(run.output)
        #expect(schemaProblems(doc, schema, root: schema).isEmpty, "\(schemaProblems(doc, schema, root: schema))")
        let files = try #require(doc["files"] as? [[String: Any]])
        #expect(files.map { $0["outcome"] as? String } == ["PASS", "BUG"])
        #expect(doc["exitCode"] as? Int == 2)
        let search = try #require(files[1]["search"] as? [String: Any])
        #expect(search["strategy"] as? String == "portfolio" && (search["schedules"] as? Int ?? 0) >= 1)
        #expect((files[1]["policy"] as? [String]) == ["vslock=busy"])
        let shrinking = try #require(files[1]["shrinking"] as? [String: Any])
        #expect(shrinking["depth"] as? Int == 0)
        // The token printed replays on the file named, not on the shrunk scenario.
        let token = try #require(files[1]["token"] as? String)
        let replay = try UVMExecutable.run(["replay", bug, token, "--policy", "vslock=busy"])
        #expect(replay.status == 2)
    }

    @Test func benchIsOneDocumentOfFigures() throws {
        let schema = try schema("bench")
        let run = try UVMExecutable.run(["bench", "--json", "--scale", "1000", "--only", "machine"])
        #expect(run.status == 0)
        let doc = try document(run.output)
        #expect(schemaProblems(doc, schema, root: schema).isEmpty, "\(schemaProblems(doc, schema, root: schema))")
        let figures = try #require(doc["figures"] as? [[String: Any]])
        #expect(figures.contains { ($0["name"] as? String)?.contains("16G") == true })
    }

    @Test func checkIsOneArrayOfRows() throws {
        let schema = try schema("check")
        let dir = NSTemporaryDirectory() + "uvm-check-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for entry in ["W02-vslock-same-page-twice.uvm", "W13-write-from-own-mapping.uvm"] {
            try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("scenarios/catalog/\(entry)").path,
                                             toPath: dir + "/" + entry)
        }
        let run = try UVMExecutable.run(["check", dir, "--json", "--modern-runs", "5"])
        #expect(run.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [Any])
        #expect(schemaProblems(rows, schema, root: schema).isEmpty, "\(schemaProblems(rows, schema, root: schema))")
        #expect(rows.count == 2)
    }

    @Test func aFuzzCampaignIsOneDocument() throws {
        let schema = try schema("fuzz")
        let out = NSTemporaryDirectory() + "uvm-fuzz-json-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let run = try UVMExecutable.run(["fuzz", "--json", "--runs", "2", "--seed", "11", "--out", out, "--policy", "truncate=free",
                                         "--keep-going", "--shrink-time", "1"])
        let doc = try document(run.output)
        #expect(schemaProblems(doc, schema, root: schema).isEmpty, "\(schemaProblems(doc, schema, root: schema))")
        #expect(doc["scenarios"] as? Int == 2)
        #expect(run.status == ((doc["findings"] as? [Any])?.isEmpty == false ? 2 : 0))
    }
}
