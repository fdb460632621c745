// The documentation's example scenarios must parse: every ```uvm block of README.md and
// docs/*.md is run through the parser, and every ```uvm-error block (an example of a mistake)
// must be refused. A block is parsed with its own line numbers in the document, so an error
// points straight at the doc file's line.

import Foundation
import Testing
import UVMScenario

/// One fenced block of a document.
struct DocSnippet: Sendable, CustomStringConvertible {
    /// The document, relative to the repository (`docs/wiring.md`).
    var document: String
    /// The line of the opening fence.
    var line: Int
    /// Whether the block is fenced as `uvm-error`.
    var showsError: Bool
    /// The block's text, preceded by one empty line per document line above it, so that parse
    /// errors carry the document's line numbers (the parser ignores blank lines).
    var text: String
    /// False when the document ends before the block's closing fence.
    var closed = true

    var description: String { "\(document):\(line)" + (showsError ? " (uvm-error)" : "") }

    /// The repository's root: this file is Tests/UVMScenarioTests/DocSnippetTests.swift.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// README.md and every docs/*.md, relative to the root.
    static var documents: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    /// Every ```uvm and ```uvm-error block of every document.
    static let all: [DocSnippet] = documents.flatMap { document -> [DocSnippet] in
        guard let text = try? String(contentsOf: root.appendingPathComponent(document), encoding: .utf8) else { return [] }
        return blocks(in: text, document: document)
    }

    static func blocks(in text: String, document: String) -> [DocSnippet] {
        var found: [DocSnippet] = []
        var open: DocSnippet?
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fence = line.trimmingCharacters(in: .whitespaces)
            if var block = open {
                if fence == "```" {
                    found.append(block)
                    open = nil
                } else {
                    block.text += line + "\n"
                    open = block
                }
            } else if fence == "```uvm" || fence == "```uvm-error" {
                open = DocSnippet(document: document, line: index + 1, showsError: fence == "```uvm-error",
                                  text: String(repeating: "\n", count: index + 1))
            }
        }
        if var open {
            open.closed = false
            found.append(open)
        }
        return found
    }
}

@Suite struct DocSnippetTests {
    @Test func theDocumentsHaveExamplesOfBothKinds() {
        #expect(DocSnippet.documents.contains("docs/scenario-language.md"))
        #expect(DocSnippet.all.contains { !$0.showsError })
        #expect(DocSnippet.all.contains { $0.showsError })
    }

    @Test func everyBlockIsClosed() {
        for snippet in DocSnippet.all where !snippet.closed {
            Issue.record("the block at \(snippet) has no closing ```")
        }
    }

    @Test(arguments: DocSnippet.all.filter { !$0.showsError })
    func exampleParses(_ snippet: DocSnippet) {
        do {
            let scenario = try ScenarioParser.parse(snippet.text, file: snippet.document)
            #expect(!scenario.statements.isEmpty, "\(snippet) is an empty example")
        } catch {
            Issue.record("the example at \(snippet) does not parse: \(error)")
        }
    }

    @Test(arguments: DocSnippet.all.filter(\.showsError))
    func mistakeIsRefused(_ snippet: DocSnippet) {
        do {
            _ = try ScenarioParser.parse(snippet.text, file: snippet.document)
            Issue.record("the example of a mistake at \(snippet) parses")
        } catch {
            // The error names the document and a line inside the block.
            #expect(error.location.file == snippet.document)
            #expect(error.location.line > snippet.line, "\(error)")
        }
    }

    @Test func blocksKeepTheirDocumentLines() throws {
        let doc = "text\n```uvm\nproc A\nA: b = mmap anon 1p\n```\n```uvm-error\nA: b = mmap anon\n```\n```uvm\nproc B\n"
        let blocks = DocSnippet.blocks(in: doc, document: "x.md")
        try #require(blocks.count == 3)
        #expect(blocks.map(\.closed) == [true, true, false])
        #expect(blocks[0].line == 2 && !blocks[0].showsError)
        #expect(blocks[1].line == 6 && blocks[1].showsError)
        let statements = try ScenarioParser.parse(blocks[0].text, file: "x.md").statements
        #expect(statements.map(\.location.line) == [3, 4])
        #expect(throws: ScenarioError.self) { try ScenarioParser.parse(blocks[1].text, file: "x.md") }
    }
}
