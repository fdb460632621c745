// Seeing a failure: the state at any moment of a run (`uvm show`), the schedule as per-thread
// columns, and replay tokens that refuse a scenario, policy or audit setting they were not made for.

import Foundation
import Testing
import UVMRunner
import UVMScenario
import UVMSched

/// A catalog scenario's text, read from the repository.
func catalogText(_ prefix: String) throws -> (path: String, text: String) {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scenarios/catalog")
    let name = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix(prefix) })
    let url = dir.appendingPathComponent(name)
    return (url.path, try String(contentsOf: url, encoding: .utf8))
}

/// Runs `text` with `options` (the policy words as KNOB=VALUE) and a snapshot at each moment.
@Sim
func look(_ text: String, at moments: [ShowMoment] = [.outcome], policy: [(String, String)] = [], audit: Bool = true,
          replay: [Int]? = nil, trace: Bool = false) async throws -> RunReport {
    var o = RunOptions()
    o.policy = policy.map { (knob: $0.0, value: $0.1) }
    o.auditEveryStep = audit
    o.replay = replay
    o.trace = trace
    o.showState = true
    o.showAt = moments
    return try await run(text, options: o)
}

@Suite struct ShowTests {
    /// W11: ptrace's copy-on-write replaced the locked text page, and the unwire through the pmap
    /// panics. At the failure the file's page is still wired once, and the copy is an anon's page.
    @Test func aCatalogBugShowsTheWiredPageWithItsCounts() async throws {
        let (_, text) = try catalogText("W11")
        let r = try await look(text, policy: [("wire-prot", "current"), ("unwire", "pmap")])
        guard case .bug(let f) = r.outcome else { Issue.record("expected a BUG, got \(r.outcome.summary)"); return }
        #expect(f.kind == .panic)
        let s = try #require(r.snapshots.first ?? nil)
        #expect(s.moment.hasPrefix("at the failure"))
        let libc = try #require(s.objects.first { $0.name == "vnode libc" })
        let page = try #require(libc.pages.first?.page)
        #expect(page.wireCount == 1 && page.loanCount == 0 && !page.released)
        let shown = try #require(r.state)
        #expect(shown.contains("object vnode libc (vnode, 1 refs)"))
        #expect(shown.contains("  0p      \(page.pfn)     -     -       1     0     -    -      -     0"), "\(shown)")
        #expect(shown.contains("legend:"))
        #expect(s.amaps.first?.slots.first?.page?.dirty == true, "the copy ptrace wrote into")
    }

    /// W9: the fault keeps a page busy and sleeps for the vnode lock truncation holds, while
    /// truncation waits for the page. At the failure each thread shows its line and what it holds;
    /// the page is busy by A and wanted by B.
    @Test func aDeadlockShowsWhoHoldsAndWhoWaits() async throws {
        let (_, text) = try catalogText("W09")
        let token = try #require(ReplayToken.parse("t1-d.0000000011111"))
        let r = try await look(text, policy: [("vnode-fault", "busy-then-lock")], audit: false, replay: token.choices)
        guard case .bug(let f) = r.outcome else { Issue.record("expected a deadlock, got \(r.outcome.summary)"); return }
        #expect(f.kind == .deadlock)
        let s = try #require(r.snapshots.first ?? nil)
        let b = try #require(s.threads.first { $0.name == "B" })
        #expect(b.state == "blocked" && b.blockedOn?.contains("busy page") == true && b.heldBy == ["A"])
        #expect(b.locks == ["vnode db"] && b.lineText.contains("truncate db 1p"))
        let a = try #require(s.threads.first { $0.name == "A" })
        #expect(a.locks.contains { $0.hasPrefix("busy page") } && a.line == 11)
        let page = try #require(s.objects.first { $0.name == "vnode db" }?.pages.first?.page)
        #expect(page.busy == "A" && page.wanted == ["B"])
        #expect(r.state?.contains("busy page 0 of vnode db (held by A)") == true)
    }

    /// A FAIL is shown when its line returned, and a PASS at the end of the scenario.
    @Test func aFailIsShownWhenItsLineReturned() async throws {
        let text = """
        proc A
        A: p = mmap anon 1p
        A: mlock p 1p => EINVAL
        A: munlock p 1p => ok
        """
        let r = try await look(text)
        #expect(r.outcome == .fail(line: 3, expected: "EINVAL", got: "ok"))
        let s = try #require(r.snapshots.first ?? nil)
        #expect(s.moment.hasPrefix("when line 3 returned ok"))
        #expect(s.processes[0].entries[0].flags == "CL", "the mlock has happened, the munlock not")
        let pass = try await look("proc A\nA: p = mmap anon 1p\nA: store p 0x11 => ok\n")
        #expect(pass.outcome == .pass)
        #expect(pass.snapshots.first??.moment.hasPrefix("at the end of the scenario") == true)
        #expect(pass.snapshots.first??.amaps.first?.slots.first?.page?.dirty == true)
    }

    /// `--line N` is the state just before line N runs; `--diff N M` what changed between steps.
    @Test func beforeALineAndBetweenTwoSteps() async throws {
        let text = """
        proc A
        A: p = mmap anon 1p
        A: store p 0x11 => ok
        A: mlock p 1p => ok
        A: munlock p 1p => ok
        """
        let before = try await look(text, at: [.beforeLine(5)])
        let s = try #require(before.snapshots.first ?? nil)
        #expect(s.moment.hasPrefix("just before line 5 first runs"))
        #expect(s.amaps[0].slots[0].page?.wireCount == 1)
        #expect(s.physical.wired == 1)
        let lines = Show.lines(of: try ScenarioParser.parse(text, file: "t.uvm"))
        #expect(lines == [2, 3, 4, 5], "operations and expects only")

        let diffRun = try await look(text, at: [.step(1), .step(s.step)])
        let a = try #require(diffRun.snapshots[0]), b = try #require(diffRun.snapshots[1])
        let diff = Show.diff(a, b)
        #expect(diff.contains("changes from after step 1 to after step \(s.step):"))
        #expect(diff.contains("amap 1 (1 refs)\n  + 0  anon 1  1  \(b.amaps[0].slots[0].page?.pfn ?? -1)  -  -  1  0  -  D  -  1"), "\(diff)")
        #expect(diff.contains("+ 0x10000000  0x10001000  rw-  rwx  copy  1  CL  amap 1@0"), "\(diff)")
        #expect(diff.contains("~ pages wired: 0 → 1"), "\(diff)")
        let never = try await look(text, at: [.step(before.steps + 100)])
        #expect(never.snapshots == [nil])
    }

    /// Taking snapshots only reads the kernel: the run is the same step for step.
    @Test func lookingChangesNothing() async throws {
        let (_, text) = try catalogText("W01")
        var o = RunOptions()
        o.seed = 7
        o.auditEveryStep = true
        o.policy = [(knob: "truncate", value: "free")]
        let plain = try await run(text, options: o)
        o.showState = true
        o.showAt = [.outcome, .step(20)]
        o.trace = true
        let looked = try await run(text, options: o)
        #expect(plain.traceHash == looked.traceHash && plain.token == looked.token && plain.outcome == looked.outcome)
    }
}

@Suite struct TimelineTests {
    /// W9 as columns: each line in its thread's column, the preemption that matters marked, the
    /// sleep on the busy page, and the deadlock at the bottom; lock steps only with `steps`.
    @Test func theDeadlockOfW9AsColumns() async throws {
        let (_, text) = try catalogText("W09")
        let token = try #require(ReplayToken.parse("t1-d.0000000011111"))
        let r = try await look(text, policy: [("vnode-fault", "busy-then-lock")], audit: false, replay: token.choices, trace: true)
        let timeline = try #require(r.timeline)
        let table = timeline.render()
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines[1].hasPrefix("step  A") && lines[1].hasSuffix("| B"))
        #expect(lines.contains { $0.contains("11: load f+1p") && !$0.contains("|    ") })
        #expect(lines.contains { $0.contains(">> preempted, B runs") })
        #expect(lines.contains { $0.hasSuffix("| 12: truncate db 1p") })
        #expect(lines.contains { $0.contains("sleeps on busy page 0 of vnode db (held by A)") })
        #expect(lines.contains { $0.contains("** BUG deadlock here") })
        #expect(lines.last?.contains("B waits for busy page 0 of vnode db held by A") == true)
        #expect(!table.contains("acquire"), "lock steps are folded")
        #expect(timeline.render(steps: true).contains(". acquire vnode db"))
        let rows = timeline.rows(steps: false)
        #expect(rows.count < 10, "operation level: \(rows.count) rows")
    }

    /// A FAIL's timeline marks the line whose result was not the expected one, and ends with it.
    @Test func aFailIsMarkedOnItsLine() async throws {
        let r = try await look("proc A\nA: p = mmap anon 1p\nA: mlock p 1p => EINVAL\n", trace: true)
        let table = try #require(r.timeline?.render())
        #expect(table.contains("3: mlock p 1p -> ok   (not what the line expects)"), "\(table)")
        #expect(table.hasSuffix("FAIL line 3: expected EINVAL, got ok"))
    }

    /// The Chrome trace-event JSON parses, with one slice per line that ran.
    @Test func chromeTraceParses() async throws {
        let (_, text) = try catalogText("W09")
        let token = try #require(ReplayToken.parse("t1-d.0000000011111"))
        let r = try await look(text, policy: [("vnode-fault", "busy-then-lock")], audit: false, replay: token.choices, trace: true)
        let json = try #require(r.timeline?.chromeTrace())
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let events = try #require(doc["traceEvents"] as? [[String: Any]])
        let slices = events.filter { $0["ph"] as? String == "X" }.compactMap { $0["name"] as? String }
        #expect(slices.contains("9: f = mmap file=db 2p shared"))
        #expect(slices.contains("12: truncate db 1p"))
        #expect(events.contains { ($0["name"] as? String)?.hasPrefix("preempted") == true })
    }
}

@Suite struct FingerprintTests {
    let text = """
    proc A
    thread T in A
    A: p = mmap anon 2p
    together
      A: store p 0x11 => ok
      T: store p+1p 0x22 => ok
    end
    """

    @Sim
    func report(_ text: String, _ o: RunOptions) async throws -> RunReport { try await run(text, options: o) }

    /// A token fits the scenario, policy and audit setting it was made with, and nothing else.
    @Test func aTokenRefusesAnotherScenarioPolicyOrAudit() async throws {
        var o = RunOptions()
        o.seed = 3
        let r = try await report(text, o)
        let token = try #require(ReplayToken.parse(r.token))
        #expect(token.fingerprint?.count == 8)
        let scenario = try ScenarioParser.parse(text, file: "t.uvm")
        #expect(ReplayToken.misfit(token, scenario, source: text, options: RunOptions()) == nil)

        var audit = RunOptions()
        audit.auditEveryStep = true
        #expect(ReplayToken.misfit(token, scenario, source: text, options: audit)?.contains("made without --audit") == true)

        var historic = RunOptions()
        historic.policy = [(knob: "truncate", value: "free")]
        #expect(ReplayToken.misfit(token, scenario, source: text, options: historic)?.contains("another scenario or policy") == true)

        let other = text.replacingOccurrences(of: "0x22", with: "0x23")
        #expect(ReplayToken.misfit(token, try ScenarioParser.parse(other, file: "t.uvm"), source: other, options: RunOptions()) != nil)

        // Comments, spacing and blank lines are not the scenario.
        let commented = "# a header a reproducer adds\n\n" + text.replacingOccurrences(of: "A: p = mmap", with: "A:   p = mmap") + "   # trailing\n"
        #expect(ReplayToken.misfit(token, try ScenarioParser.parse(commented, file: "t.uvm"), source: commented, options: RunOptions()) == nil)

        // A token printed before fingerprints existed is replayed unchecked.
        let old = try #require(ReplayToken.parse("t1-r3.0101"))
        #expect(old.fingerprint == nil && old.origin == "r3")
        #expect(ReplayToken.misfit(old, scenario, source: text, options: audit) == nil)
        #expect(ReplayToken.parse("t1-r3.01.xyz") == nil, "a fingerprint is eight hex digits")
    }

    /// Replaying a token prints the same token back.
    @Test func aReplayPrintsTheSameToken() async throws {
        var o = RunOptions()
        o.seed = 5
        let first = try await report(text, o)
        let parsed = try #require(ReplayToken.parse(first.token))
        var again = RunOptions()
        again.replay = parsed.choices
        again.replayOrigin = parsed.origin
        let second = try await report(text, again)
        #expect(second.token == first.token)
    }
}

@Suite struct HTMLReportTests {
    /// W9's page: the scenario with its lines addressable, the swimlanes with a bar per line, the
    /// wait-for graph of the deadlock, and A's address space as its four layers, the busy page red.
    @Test func theDeadlockOfW9AsAPage() async throws {
        let (path, text) = try catalogText("W09")
        let token = try #require(ReplayToken.parse("t1-d.0000000011111"))
        let r = try await look(text, policy: [("vnode-fault", "busy-then-lock")], audit: false, replay: token.choices, trace: true)
        let page = HTMLReport.render(file: path, source: text, report: r, replay: "uvm replay \(path) \(r.token)")
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.contains("<span class=\"src\" id=\"L12\"><span class=\"no\">12</span>  B: truncate db 1p =&gt; ok</span>"))
        #expect(page.contains("<svg id=\"swimlanes\""))
        #expect(page.contains("data-line=\"12\""), "a bar for line 12")
        #expect(page.contains("<svg id=\"waitfor\""))
        #expect(page.contains(">busy page 0 of vnode db</text>"))
        #expect(page.contains("<svg class=\"layers\""))
        for layer in ["map entries", "amaps / anons", "objects", "physical pages"] { #expect(page.contains(">\(layer)</text>")) }
        #expect(page.contains("<g class=\"node busy\"><title>page 0: wire 0, loan 0, busy by A, wanted by B</title>"))
        #expect(!page.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"), "nothing is fetched")
    }

    /// W1's page: the vslock's captured page shows as freed under the DMA.
    @Test func theUseAfterFreeOfW1ShowsTheStaleCapture() async throws {
        let (path, text) = try catalogText("W01")
        let token = try #require(ReplayToken.parse("t1-d.000000000000000000000000000000000000000000001111"))
        let r = try await look(text, policy: [("truncate", "free")], replay: token.choices, trace: true)
        guard case .bug(let f) = r.outcome else { Issue.record("expected a BUG, got \(r.outcome.summary)"); return }
        #expect(f.kind == .useAfterFree)
        let page = HTMLReport.render(file: path, source: text, report: r, replay: "")
        #expect(page.contains("<span class=\"cap stale\">page 0 (now free)</span>"))
        #expect(page.contains("history: step"), "the page's history")
    }
}

/// Checks `value` against the subset of JSON Schema docs/schema/run.schema.json uses: type,
/// enum, required, properties, items and local $ref. Returns where it does not fit.
func schemaProblems(_ value: Any, _ schema: [String: Any], root: [String: Any], at path: String = "$") -> [String] {
    if let ref = schema["$ref"] as? String, ref.hasPrefix("#/$defs/"),
       let target = (root["$defs"] as? [String: Any])?[String(ref.dropFirst("#/$defs/".count))] as? [String: Any] {
        return schemaProblems(value, target, root: root, at: path)
    }
    func isBool(_ v: Any) -> Bool {
        guard let n = v as? NSNumber else { return false }
        return String(cString: n.objCType) == "c" || type(of: v) == Bool.self
    }
    func fits(_ type: String) -> Bool {
        switch type {
        case "null": value is NSNull
        case "string": value is String
        case "boolean": isBool(value)
        case "integer": !isBool(value) && (value as? NSNumber).map { Double($0.int64Value) == $0.doubleValue } == true
        case "number": !isBool(value) && value is NSNumber
        case "array": value is [Any]
        case "object": value is [String: Any]
        default: false
        }
    }
    if let t = schema["type"] {
        let types = (t as? [String]) ?? [(t as? String) ?? ""]
        guard types.contains(where: fits) else { return ["\(path): expected \(types.joined(separator: " or ")), found \(value)"] }
    }
    if let options = schema["enum"] as? [Any] {
        let text = "\(value)"
        guard options.contains(where: { "\($0)" == text }) else { return ["\(path): \(value) is not one of \(options)"] }
    }
    var problems: [String] = []
    if let object = value as? [String: Any] {
        for key in schema["required"] as? [String] ?? [] where object[key] == nil { problems.append("\(path): no \(key)") }
        for (key, sub) in schema["properties"] as? [String: Any] ?? [:] {
            if let v = object[key], let sub = sub as? [String: Any] { problems += schemaProblems(v, sub, root: root, at: "\(path).\(key)") }
        }
    }
    if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
        for (i, v) in array.enumerated() { problems += schemaProblems(v, items, root: root, at: "\(path)[\(i)]") }
    }
    return problems
}

@Suite struct RunJSONTests {
    /// A BUG with its timeline and its state, a FAIL and a PASS: each one JSON document that
    /// Foundation parses and that fits docs/schema/run.schema.json.
    @Test func documentsParseAndFitTheSchema() async throws {
        let schemaURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/schema/run.schema.json")
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: schemaURL)) as? [String: Any])

        let (path, text) = try catalogText("W09")
        let token = try #require(ReplayToken.parse("t1-d.0000000011111"))
        let bug = try await look(text, policy: [("vnode-fault", "busy-then-lock")], audit: false, replay: token.choices, trace: true)
        let fail = try await look("proc A\nA: p = mmap anon 1p\nA: mlock p 1p => EINVAL\n", trace: true)
        let pass = try await look("proc A\nA: p = mmap anon 1p\n", at: [.step(1), .step(3)])
        for (report, outcome) in [(bug, "BUG"), (fail, "FAIL"), (pass, "PASS")] {
            let json = RunJSON.document(file: path, report: report, replay: "uvm replay \(path) \(report.token)")
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(doc["outcome"] as? String == outcome)
            #expect(schemaProblems(doc, schema, root: schema).isEmpty, "\(schemaProblems(doc, schema, root: schema))")
        }
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(RunJSON.document(file: path, report: bug).utf8)) as? [String: Any])
        let events = try #require((doc["timeline"] as? [String: Any])?["events"] as? [[String: Any]])
        #expect(events.contains { $0["event"] as? String == "preempted" && $0["thread"] as? String == "A" && $0["by"] as? String == "B" })
        let threads = try #require(((doc["states"] as? [[String: Any]])?.first?["threads"]) as? [[String: Any]])
        #expect(threads.contains { $0["name"] as? String == "B" && $0["blockedOn"] as? String == "busy page 0 of vnode db" })
        #expect((doc["lines"] as? [[String: Any]])?.first?["result"] as? String == "0x10000000")

        // A document that does not fit is told apart.
        #expect(!schemaProblems(["outcome": "MAYBE"], schema, root: schema).isEmpty)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(#"[true, 3, 3.5, null]"#.utf8)) as? [Any])
        #expect(schemaProblems(parsed[0], ["type": "boolean"], root: [:]).isEmpty && !schemaProblems(parsed[0], ["type": "integer"], root: [:]).isEmpty)
        #expect(schemaProblems(parsed[1], ["type": "integer"], root: [:]).isEmpty && !schemaProblems(parsed[1], ["type": "boolean"], root: [:]).isEmpty)
        #expect(!schemaProblems(parsed[2], ["type": "integer"], root: [:]).isEmpty)
        #expect(schemaProblems(parsed[3], ["type": ["string", "null"]], root: [:]).isEmpty)
    }
}

@Suite struct CatalogIndexTests {
    /// `check --report`'s index links each entry's historic and modern pages.
    @Test func theIndexLinksBothRunsOfEachEntry() {
        var w1 = HTMLReport.CatalogLine(id: "W1", knobs: "truncate=free", expected: "use-after-free")
        w1.historic = "BUG use-after-free: page 0 <freed>"
        w1.historicPage = "W1-historic.html"
        w1.modern = "PASS"
        w1.modernPage = "W1-modern.html"
        var w13 = HTMLReport.CatalogLine(id: "W13", knobs: "(modern only)", expected: "PASS")
        w13.modern = "PASS"
        w13.modernPage = "W13-modern.html"
        let page = HTMLReport.catalogIndex([w1, w13])
        #expect(page.contains("<tr><td>W1</td><td><code>truncate=free</code></td><td>use-after-free</td><td><a href=\"W1-historic.html\">BUG use-after-free: page 0 &lt;freed&gt;</a></td><td><a href=\"W1-modern.html\">PASS</a></td></tr>"))
        #expect(page.contains("<tr><td>W13</td><td><code>(modern only)</code></td><td>PASS</td><td>-</td><td><a href=\"W13-modern.html\">PASS</a></td></tr>"))
    }
}

@Suite struct SpellingTests {
    @Test func aMistypedCommandIsNamed() {
        let commands = ["run", "explore", "replay", "show", "report", "check", "bench", "fuzz", "help"]
        #expect(Spelling.nearest("rnu", among: commands) == "run")
        #expect(Spelling.nearest("shwo", among: commands) == "show")
        #expect(Spelling.nearest("explroe", among: commands) == "explore")
        #expect(Spelling.nearest("zzzzzz", among: commands) == nil)
        #expect(Spelling.editDistance("", "abc") == 3 && Spelling.editDistance("kitten", "sitting") == 3)
    }
}

@Suite struct EchoTests {
    /// A file with CRLF line ends echoes each line as written, expectations whole, and its
    /// token's fingerprint sees every line (a split on "\n" would see one line of it).
    @Test func aCRLFFileEchoesItsLinesAndItsFingerprintSeesThem() async throws {
        let text = "proc A\r\nA: p = mmap anon 2p\r\nA: mlock p 1p => ok\r\nexpect resident A p 2p = 10\r\nexpect locked A p 1p = yes\r\n"
        let r = try await run(text)
        #expect(r.outcome == .pass)
        #expect(r.lines == ["2: A: p = mmap anon 2p -> 0x10000000", "3: A: mlock p 1p -> ok",
                            "4: expect resident A p 2p = 10 -> 10", "5: expect locked A p 1p = yes -> yes"])
        let token = try #require(ReplayToken.parse(r.token))
        let edited = text.replacingOccurrences(of: "mlock p 1p", with: "mlock p 2p")
        var o = RunOptions()
        o.auditEveryStep = true
        #expect(ReplayToken.misfit(token, try ScenarioParser.parse(text, file: "t.uvm"), source: text, options: o) == nil)
        #expect(ReplayToken.misfit(token, try ScenarioParser.parse(edited, file: "t.uvm"), source: edited, options: o) != nil)
        #expect(sourceLines(text).count == 6 && sourceLines(text)[1] == "A: p = mmap anon 2p\r")
    }
}

@Suite struct LockOrderPageTests {
    /// W10: the page draws the order first seen and the reverse that closed the inversion.
    @Test func theInversionOfW10ShowsBothOrders() async throws {
        let (path, text) = try catalogText("W10")
        let r = try await look(text, policy: [("vnode-fault", "lock-early")], trace: true)
        guard case .bug(let f) = r.outcome, f.kind == .lockOrder else { Issue.record("expected a lock-order BUG, got \(r.outcome.summary)"); return }
        let page = HTMLReport.render(file: path, source: text, report: r, replay: "")
        #expect(page.contains("<svg id=\"lockorders\""))
        #expect(page.contains(">first order</text>") && page.contains("<g class=\"order now\"><text class=\"label\" x=\"4\" y=\"87\">now</text>"))
        #expect(page.contains(">object vnode db</text>") && page.contains(">vnode db</text>"))
    }
}
