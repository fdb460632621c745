// `uvm report`: one self-contained HTML page about one run — the scenario with its lines lit as
// the timeline advances, the schedule as swimlanes, each address space at the failure drawn as
// its layers (map entries, amaps and anons, objects, physical pages), and for a deadlock the
// wait-for graph. Inline SVG and CSS, a few lines of script, nothing fetched.

import Foundation
import UVMCore

public enum HTMLReport {
    /// The page for `report`, which ran `source` with its trace on and a snapshot at its outcome.
    public static func render(file: String, source: String, report: RunReport, replay: String) -> String {
        let snapshot = report.snapshots.first ?? nil
        var body: [String] = []
        body.append("<h1>\(esc(file))</h1>")
        body.append("<p class=\"outcome \(outcomeClass(report.outcome))\">\(esc(report.outcome.summary))</p>")
        if report.outcome.isFailure { body.append("<p class=\"replay\"><code>\(esc(replay))</code></p>") }
        if case .bug(let f) = report.outcome, !f.details.isEmpty {
            body.append("<h2>What went wrong</h2><pre class=\"details\">\(esc(f.details.joined(separator: "\n")))</pre>")
        }
        body.append("<div class=\"cols\"><section class=\"source\"><h2>Scenario</h2>\(sourceListing(source))</section>")
        if let timeline = report.timeline {
            body.append("<section class=\"timeline\"><h2>Timeline</h2>\(swimlanes(timeline))</section>")
        }
        body.append("</div>")
        if let snapshot {
            if let graph = waitForGraph(snapshot, report.outcome) {
                body.append("<h2>Wait-for graph</h2>\(graph)")
            }
            if let orders = lockOrders(report.outcome) {
                body.append("<h2>The two lock orders</h2>\(orders)")
            }
            body.append("<h2>Address spaces \(esc(snapshot.moment))</h2>\(legend)")
            for p in snapshot.processes where !p.exited && !p.entries.isEmpty {
                body.append(layers(p, snapshot))
            }
            if !snapshot.holds.isEmpty { body.append(holds(snapshot)) }
            body.append("<h2>The state as <code>uvm show</code> prints it</h2><pre class=\"show\">\(esc(Show.render(snapshot)))</pre>")
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(file)): \(esc(report.outcome.summary))</title>
        <style>\(style)</style></head>
        <body>
        \(body.joined(separator: "\n"))
        <script>\(script)</script>
        </body></html>

        """
    }

    /// One catalog entry on `check --report`'s index page.
    public struct CatalogLine: Sendable {
        public var id: String
        public var knobs: String
        public var expected: String
        public var historic = "-"
        public var historicPage: String?
        public var modern = ""
        public var modernPage = ""

        public init(id: String, knobs: String, expected: String) {
            self.id = id
            self.knobs = knobs
            self.expected = expected
        }
    }

    /// The index of `check --report`: each entry, its historic BUG and its modern run, linked.
    public static func catalogIndex(_ lines: [CatalogLine]) -> String {
        let rows = lines.map { l in
            "<tr><td>\(esc(l.id))</td><td><code>\(esc(l.knobs))</code></td><td>\(esc(l.expected))</td><td>"
                + (l.historicPage.map { "<a href=\"\(esc($0))\">\(esc(l.historic))</a>" } ?? esc(l.historic))
                + "</td><td><a href=\"\(esc(l.modernPage))\">\(esc(l.modern))</a></td></tr>"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>uvm check: the bug catalog</title><style>\(style)
        table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head>
        <body><h1>The bug catalog</h1>
        <table><tr><th>entry</th><th>historic knobs</th><th>expected</th><th>historic run</th><th>modern run</th></tr>
        \(rows.joined(separator: "\n"))
        </table></body></html>

        """
    }

    // MARK: The scenario and the timeline

    static func sourceListing(_ source: String) -> String {
        let rows = sourceLines(source).enumerated().map { i, l in
            "<span class=\"src\" id=\"L\(i + 1)\"><span class=\"no\">\(i + 1)</span>\(esc(l.trailingSpacesTrimmed))</span>"
        }
        return "<pre class=\"listing\">\(rows.joined())</pre>"
    }

    /// One lane per thread; a line runs as a bar from its first step to its return, a sleep is
    /// a hatched bar, a preemption a marker, the failure a red rule. A slider walks the steps.
    static func swimlanes(_ t: Timeline) -> String {
        let lanes = t.threads.indices.filter { id in t.events.contains { $0.thread == id && !isStep($0.kind) } }
        let last = max(1, t.events.map(\.step).max() ?? 1)
        let left = 90.0, width = 760.0, lane = 40.0
        func x(_ step: Int) -> Double { left + Double(step) / Double(last) * (width - left - 10) }
        func y(_ thread: Int) -> Double { 24 + Double(lanes.firstIndex(of: thread) ?? 0) * lane }
        var svg: [String] = []
        for id in lanes {
            svg.append("<text class=\"lane\" x=\"4\" y=\"\(fmt(y(id) + 20))\">\(esc(t.threads[id]))</text>")
            svg.append("<line class=\"lane\" x1=\"\(fmt(left))\" x2=\"\(fmt(width - 10))\" y1=\"\(fmt(y(id) + 32))\" y2=\"\(fmt(y(id) + 32))\"/>")
        }
        var open: [Int: (step: Int, line: Int, text: String)] = [:]
        var asleep: [Int: (step: Int, on: String)] = [:]
        func bar(_ thread: Int, _ from: Int, _ to: Int, _ line: Int, _ label: String, _ cls: String) {
            let w = max(4, x(to) - x(from))
            svg.append("<g class=\"op \(cls)\" data-line=\"\(line)\" data-from=\"\(from)\" data-to=\"\(to)\"><title>\(esc(label))</title>"
                       + "<rect x=\"\(fmt(x(from)))\" y=\"\(fmt(y(thread) + 4))\" width=\"\(fmt(w))\" height=\"20\" rx=\"3\"/>"
                       + "<text x=\"\(fmt(x(from) + 3))\" y=\"\(fmt(y(thread) + 18))\">\(esc(String(label.prefix(Int(w / 7)))))</text></g>")
        }
        func sleepBar(_ thread: Int, _ from: Int, _ to: Int, _ on: String) {
            svg.append("<rect class=\"sleep\" x=\"\(fmt(x(from)))\" y=\"\(fmt(y(thread) + 25))\" width=\"\(fmt(max(4, x(to) - x(from))))\" height=\"6\"><title>sleeps on \(esc(on))</title></rect>")
        }
        for e in t.events {
            if let s = asleep[e.thread], !isStep(e.kind) || e.step > s.step {
                if case .blocked = e.kind {} else { sleepBar(e.thread, s.step, e.step, s.on); asleep[e.thread] = nil }
            }
            switch e.kind {
            case .begin(let line, let text):
                open[e.thread] = (e.step, line, line == 0 ? text : "\(line): \(Timeline.withoutActor(text))")
            case .end(_, let result, let failed):
                guard let b = open.removeValue(forKey: e.thread) else { continue }
                bar(e.thread, b.step, e.step, b.line, b.text + " -> " + result, failed ? "failed" : "")
            case .blocked(let on, let heldBy):
                asleep[e.thread] = (e.step, on + (heldBy.isEmpty ? "" : " (held by \(heldBy.joined(separator: ", ")))"))
            case .preempted(let by):
                svg.append("<path class=\"preempt\" d=\"M\(fmt(x(e.step))) \(fmt(y(e.thread) + 2)) l5 -8 l-10 0 z\"><title>step \(e.step): preempted, \(esc(by)) runs</title></path>")
            case .failed(let kind):
                svg.append("<line class=\"failure\" x1=\"\(fmt(x(e.step)))\" x2=\"\(fmt(x(e.step)))\" y1=\"14\" y2=\"\(fmt(24 + Double(lanes.count) * lane))\"><title>step \(e.step): BUG \(esc(kind))</title></line>")
            case .step, .resumed:
                break
            }
        }
        for (thread, s) in asleep.sorted(by: { $0.key < $1.key }) { sleepBar(thread, s.step, last, s.on) }
        for (thread, b) in open.sorted(by: { $0.key < $1.key }) { bar(thread, b.step, last, b.line, b.text + " (did not return)", "cut") }
        let height = 40 + Double(lanes.count) * lane
        svg.append("<line id=\"cursor\" x1=\"\(fmt(left))\" x2=\"\(fmt(left))\" y1=\"14\" y2=\"\(fmt(height - 10))\"/>")
        svg.append("<text class=\"axis\" x=\"\(fmt(left))\" y=\"10\">step 1</text><text class=\"axis\" x=\"\(fmt(width - 60))\" y=\"10\">step \(last)</text>")
        return "<svg id=\"swimlanes\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" width=\"100%\" style=\"max-width:\(fmt(width))px\" data-left=\"\(fmt(left))\" data-right=\"\(fmt(width - 10))\" data-last=\"\(last)\">"
            + svg.joined() + "</svg>"
            + "<p><label>step <input type=\"range\" id=\"step\" min=\"1\" max=\"\(last)\" value=\"\(last)\"> <output id=\"stepno\">\(last)</output></label></p>"
    }

    static func isStep(_ k: Timeline.Kind) -> Bool { if case .step = k { true } else { false } }

    // MARK: Address spaces as layers

    static let legend = """
    <p class="legend"><span class="sw wired"></span>wired <span class="sw loaned"></span>loaned <span class="sw busy"></span>busy \
    <span class="sw released"></span>released <span class="sw swapped"></span>swapped <span class="sw plain"></span>resident \
    (a dot: dirty) — rows: map entries, amaps and anons, objects, physical pages</p>
    """

    static func pageClass(_ p: PageView) -> String {
        p.released ? "released" : p.busy != nil ? "busy" : p.loanCount > 0 ? "loaned" : p.wireCount > 0 ? "wired" : "plain"
    }

    static func pageTitle(_ p: PageView) -> String {
        "page \(p.frame): wire \(p.wireCount), loan \(p.loanCount)" + (p.busy.map { ", busy by \($0)" } ?? "")
            + (p.wanted.isEmpty ? "" : ", wanted by \(p.wanted.joined(separator: ", "))") + (p.released ? ", released" : "")
            + (p.dirty ? ", dirty" : "")
    }

    /// One process: a row per layer, a column per page of each entry (the first pages of a large one).
    static func layers(_ p: ProcessView, _ s: StateSnapshot) -> String {
        let box = 62.0, gap = 8.0, rowY = [26.0, 86.0, 146.0, 206.0]
        let maxColumns = 40
        var svg: [String] = []
        for (i, name) in ["map entries", "amaps / anons", "objects", "physical pages"].enumerated() {
            svg.append("<text class=\"layer\" x=\"4\" y=\"\(fmt(rowY[i] + 22))\">\(name)</text>")
        }
        var column = 0
        let left = 112.0
        func cx(_ c: Int) -> Double { left + Double(c) * (box + gap) }
        func node(_ c: Int, _ row: Int, _ cls: String, _ label: String, _ title: String, dirty: Bool = false) {
            svg.append("<g class=\"node \(cls)\"><title>\(esc(title))</title><rect x=\"\(fmt(cx(c)))\" y=\"\(fmt(rowY[row]))\" width=\"\(fmt(box))\" height=\"34\" rx=\"4\"/>"
                       + "<text x=\"\(fmt(cx(c) + box / 2))\" y=\"\(fmt(rowY[row] + 21))\">\(esc(label))</text>"
                       + (dirty ? "<circle cx=\"\(fmt(cx(c) + box - 7))\" cy=\"\(fmt(rowY[row] + 7))\" r=\"3\" class=\"dirty\"/>" : "") + "</g>")
        }
        func link(_ c: Int, _ from: Int, _ to: Int) {
            svg.append("<line class=\"link\" x1=\"\(fmt(cx(c) + box / 2))\" x2=\"\(fmt(cx(c) + box / 2))\" y1=\"\(fmt(rowY[from] + 34))\" y2=\"\(fmt(rowY[to]))\"/>")
        }
        func physical(_ c: Int, _ from: Int, _ page: PageView?, swapSlot: Int?) {
            if let page {
                link(c, from, 3)
                node(c, 3, pageClass(page), page.fictitious ? "fake" : "pfn \(page.pfn)", pageTitle(page), dirty: page.dirty)
            } else if let swapSlot {
                link(c, from, 3)
                node(c, 3, "swapped", "swap \(swapSlot)", "on swap, slot \(swapSlot)")
            }
        }
        for e in p.entries where column < maxColumns {
            let first = column
            for backing in e.pages where column < maxColumns {
                switch backing {
                case .untouched:
                    break
                case .device:
                    link(column, 0, 2)
                    node(column, 2, "plain", "device", "device memory (always resident)")
                case .anon(let serial, let page, let swapSlot):
                    link(column, 0, 1)
                    node(column, 1, page.map(pageClass) ?? "swapped", "anon \(serial)", "anon \(serial)" + (e.amap.map { " in amap \($0)" } ?? ""))
                    physical(column, 1, page, swapSlot: swapSlot)
                case .object(let name, let index, let page):
                    link(column, 0, 2)
                    node(column, 2, page.map(pageClass) ?? "absent", "\(name.split(separator: " ").last ?? "") \(index)p",
                         "\(name), page \(index)" + (page == nil ? ": not resident" : ""))
                    physical(column, 2, page, swapSlot: nil)
                }
                column += 1
            }
            let w = Double(max(column - first, 1)) * (box + gap) - gap
            let cls = e.userWired || e.systemWirings > 0 ? "entry wired" : "entry"
            svg.append("<g class=\"\(cls)\"><title>\(esc(hex(e.start)))-\(esc(hex(e.end))) \(e.protection) max \(e.maxProtection) \(e.inheritance) flags \(esc(e.flags))</title>"
                       + "<rect x=\"\(fmt(cx(first)))\" y=\"\(fmt(rowY[0]))\" width=\"\(fmt(w))\" height=\"34\" rx=\"4\"/>"
                       + "<text x=\"\(fmt(cx(first) + 4))\" y=\"\(fmt(rowY[0] + 14))\">\(esc(hex(e.start))) \(e.protection)</text>"
                       + "<text x=\"\(fmt(cx(first) + 4))\" y=\"\(fmt(rowY[0] + 28))\">\(esc(e.flags))</text></g>")
            if column == first { column += 1 }
        }
        let width = cx(column) + 10
        return "<h3>proc \(esc(p.name)) (pid \(p.pid))" + (p.futureWiring ? ", mlockall(future)" : "") + ", wired \(p.wiredPages) pages</h3>"
            + "<svg class=\"layers\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"250\">" + svg.joined() + "</svg>"
    }

    static func holds(_ s: StateSnapshot) -> String {
        let rows = s.holds.map { h in
            "<li>vslock by \(esc(h.thread)) of \(esc(hex(h.start)))-\(esc(hex(h.end))) (\(esc(h.access)))"
                + (h.released ? ", vsunlocked" : "") + ": " + h.pages.map { c in
                    let now = c.page.isFree ? "now free" : c.reused ? "now reused" : "still held"
                    return "<span class=\"cap \(c.reused ? "stale" : "ok")\">page \(esc(c.page.frame)) (\(now))</span>"
                }.joined(separator: ", ") + "</li>"
        }
        return "<h3>vslocks and the pages they captured</h3><ul>\(rows.joined())</ul>"
    }

    // MARK: The wait-for graph

    /// Threads and what they wait for, from the snapshot and the deadlock's cycle: thread → the
    /// lock or page it waits for → the thread holding it.
    static func waitForGraph(_ s: StateSnapshot, _ outcome: Outcome) -> String? {
        guard case .bug(let f) = outcome, f.kind == .deadlock else { return nil }
        var edges: [(waiter: String, resource: String, holders: [String])] = s.threads.compactMap { t in
            t.blockedOn.map { (t.name, $0, t.heldBy) }
        }
        for d in f.details {
            guard let w = d.range(of: " waits for "), let h = d.range(of: " held by ", options: .backwards) else { continue }
            let waiter = String(d[..<w.lowerBound]), resource = String(d[w.upperBound..<h.lowerBound])
            if !edges.contains(where: { $0.waiter == waiter && $0.resource == resource }) {
                edges.append((waiter, resource, d[h.upperBound...].split(separator: ",").map { String($0).trimmingSpaces }))
            }
        }
        guard !edges.isEmpty else { return nil }
        var nodes: [(name: String, thread: Bool)] = []
        func add(_ n: String, thread: Bool) { if !nodes.contains(where: { $0.name == n }) { nodes.append((n, thread)) } }
        for e in edges {
            add(e.waiter, thread: true)
            add(e.resource, thread: false)
            for h in e.holders { add(h, thread: true) }
        }
        let r = 120.0, cx = 260.0, cy = 160.0
        func pos(_ name: String) -> (Double, Double) {
            let i = Double(nodes.firstIndex { $0.name == name } ?? 0)
            let a = 2 * Double.pi * i / Double(nodes.count) - Double.pi / 2
            return (cx + r * cos(a), cy + r * sin(a))
        }
        var svg = ["<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 z\"/></marker></defs>"]
        func arrow(_ a: String, _ b: String, _ label: String) {
            let (x1, y1) = pos(a), (x2, y2) = pos(b)
            let len = max(1, ((x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1)).squareRoot())
            let (ux, uy) = ((x2 - x1) / len, (y2 - y1) / len)
            svg.append("<line class=\"wait\" x1=\"\(fmt(x1 + ux * 30))\" y1=\"\(fmt(y1 + uy * 22))\" x2=\"\(fmt(x2 - ux * 30))\" y2=\"\(fmt(y2 - uy * 22))\" marker-end=\"url(#arrow)\"/>"
                       + "<text class=\"edge\" x=\"\(fmt((x1 + x2) / 2))\" y=\"\(fmt((y1 + y2) / 2 - 4))\">\(label)</text>")
        }
        for e in edges {
            arrow(e.waiter, e.resource, "waits for")
            for h in e.holders { arrow(e.resource, h, "held by") }
        }
        for n in nodes {
            let (x, y) = pos(n.name)
            svg.append(n.thread
                ? "<g class=\"wfg thread\"><circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"24\"/><text x=\"\(fmt(x))\" y=\"\(fmt(y + 5))\">\(esc(n.name))</text></g>"
                : "<g class=\"wfg resource\"><rect x=\"\(fmt(x - 90))\" y=\"\(fmt(y - 16))\" width=\"180\" height=\"32\" rx=\"6\"/><text x=\"\(fmt(x))\" y=\"\(fmt(y + 5))\">\(esc(n.name))</text></g>")
        }
        return "<svg id=\"waitfor\" xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"330\">" + svg.joined() + "</svg>"
    }

    /// A lock-order inversion's two orders, as its explanation gives them ("first order: X then
    /// Y (A, step 7)", "now: Y then X (A, step 10)"): each a row of two locks and an arrow.
    static func lockOrders(_ outcome: Outcome) -> String? {
        guard case .bug(let f) = outcome, f.kind == .lockOrder else { return nil }
        let orders: [(label: String, first: String, second: String, seen: String)] = f.details.compactMap { d in
            guard let colon = d.range(of: ": "), let then = d.range(of: " then ") else { return nil }
            let rest = d[then.upperBound...]
            let paren = rest.range(of: " (", options: .backwards)
            return (String(d[..<colon.lowerBound]), String(d[colon.upperBound..<then.lowerBound]),
                    String(rest[..<(paren?.lowerBound ?? rest.endIndex)]),
                    paren.map { String(rest[$0.upperBound...].dropLast()) } ?? "")
        }
        guard !orders.isEmpty else { return nil }
        var svg = ["<defs><marker id=\"order\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 z\"/></marker></defs>"]
        for (i, o) in orders.enumerated() {
            let y = 10.0 + Double(i) * 56
            let cls = i == orders.count - 1 ? "order now" : "order"
            svg.append("<g class=\"\(cls)\"><text class=\"label\" x=\"4\" y=\"\(fmt(y + 21))\">\(esc(o.label))</text>"
                       + "<rect x=\"110\" y=\"\(fmt(y))\" width=\"200\" height=\"32\" rx=\"6\"/><text x=\"210\" y=\"\(fmt(y + 21))\">\(esc(o.first))</text>"
                       + "<line x1=\"312\" y1=\"\(fmt(y + 16))\" x2=\"388\" y2=\"\(fmt(y + 16))\" marker-end=\"url(#order)\"/>"
                       + "<rect x=\"390\" y=\"\(fmt(y))\" width=\"200\" height=\"32\" rx=\"6\"/><text x=\"490\" y=\"\(fmt(y + 21))\">\(esc(o.second))</text>"
                       + "<text class=\"label\" x=\"600\" y=\"\(fmt(y + 21))\">\(esc(o.seen))</text></g>")
        }
        return "<svg id=\"lockorders\" xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"\(fmt(20 + Double(orders.count) * 56))\">" + svg.joined() + "</svg>"
    }

    // MARK: Text, style and script

    static func outcomeClass(_ o: Outcome) -> String {
        switch o {
        case .pass: "pass"
        case .fail: "fail"
        case .bug: "bug"
        case .stopped: "stopped"
        }
    }

    static func esc(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    static func fmt(_ v: Double) -> String {
        let tenths = (v * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(Int(tenths / 10)) : String(tenths / 10)
    }

    static let style = """
    body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
    h1{font-size:1.3em;margin:0} h2{font-size:1.1em;margin-top:1.4em} h3{font-size:1em}
    .outcome{font-weight:bold;padding:.3em .6em;display:inline-block;border-radius:4px}
    .outcome.pass{background:#dfd}.outcome.fail{background:#fed}.outcome.bug{background:#fdd}.outcome.stopped{background:#eee}
    .cols{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start} .cols section{flex:1 1 480px;min-width:0}
    pre{background:#f6f6f6;padding:.6em;overflow:auto} .listing .no{color:#999;display:inline-block;width:2.5em}
    .src{display:block} .src.lit{background:#ffe58a}
    svg text{font:11px monospace} svg text.lane,svg text.layer{font:bold 12px sans-serif}
    line.lane{stroke:#ccc} .op rect{fill:#cfe3ff;stroke:#4a7bd0} .op.failed rect{fill:#ffd0c8;stroke:#c33}
    .op.cut rect{fill:#fff;stroke:#c33;stroke-dasharray:4 2} .op.lit rect{fill:#ffe58a}
    rect.sleep{fill:#c33;opacity:.6} path.preempt{fill:#e80} line.failure{stroke:#c00;stroke-width:2}
    #cursor{stroke:#333;stroke-dasharray:3 3} text.axis{fill:#666}
    .node rect{stroke:#555} .node text{text-anchor:middle} .link{stroke:#888}
    .plain rect{fill:#e8f0e8} .wired rect{fill:#7fb3ff} .loaned rect{fill:#ffbf6b}
    .busy rect{fill:#ff7b7b} .released rect{fill:#c49bff} .swapped rect{fill:#ddd;stroke-dasharray:4 2}
    .sw.plain{background:#e8f0e8} .sw.wired{background:#7fb3ff} .sw.loaned{background:#ffbf6b}
    .sw.busy{background:#ff7b7b} .sw.released{background:#c49bff} .sw.swapped{background:#ddd;border-style:dashed}
    .absent rect{fill:#fff;stroke-dasharray:4 2} .entry rect{fill:#f3f3f3;stroke:#555} .entry.wired rect{fill:#d5e6ff}
    circle.dirty{fill:#333} .sw{display:inline-block;width:1em;height:1em;border:1px solid #555;vertical-align:middle;margin:0 .2em 0 .8em}
    .wfg circle{fill:#cfe3ff;stroke:#4a7bd0} .wfg rect{fill:#fff3c4;stroke:#b90} .wfg text{text-anchor:middle}
    line.wait{stroke:#c33;stroke-width:1.5} text.edge{fill:#c33;text-anchor:middle}
    .cap.stale{color:#c00;font-weight:bold}
    .order rect{fill:#cfe3ff;stroke:#4a7bd0} .order.now rect{fill:#ffd0c8;stroke:#c33} .order line{stroke:#333;stroke-width:1.5}
    .order text{text-anchor:middle} .order text.label{text-anchor:start}
    """

    /// The slider lights the lines running at the chosen step, in the listing and on the lanes.
    static let script = """
    (function(){
    var svg=document.getElementById('swimlanes'),input=document.getElementById('step'),out=document.getElementById('stepno');
    if(!svg||!input)return;
    var left=+svg.dataset.left,right=+svg.dataset.right,last=+svg.dataset.last,cursor=document.getElementById('cursor');
    function show(s){
      out.textContent=s;
      var x=left+s/last*(right-left);cursor.setAttribute('x1',x);cursor.setAttribute('x2',x);
      document.querySelectorAll('.src.lit').forEach(function(e){e.classList.remove('lit');});
      document.querySelectorAll('#swimlanes .op').forEach(function(g){
        var on=+g.dataset.from<=s&&s<=+g.dataset.to;g.classList.toggle('lit',on);
        var l=document.getElementById('L'+g.dataset.line);if(on&&l)l.classList.add('lit');
      });
    }
    input.addEventListener('input',function(){show(+input.value);});
    show(+input.value);
    })();
    """
}
