// gpuprep-yaml: reads a YAML document on standard input with Yams (libyaml) and writes its node
// tree, with the line and column of every node, as JSON on standard output.
//
// It is a program of its own because Yams needs the whole of Foundation, whose start-up (about
// 2 ms, and 50 MB of binary) every gpuprep command would otherwise pay; only `apply` reads YAML.
// Output: {"node": NODE} or {"error": "...", "line": N, "column": N}, where NODE is
// {"line", "column", "scalar": "text"} | {"line", "column", "sequence": [NODE]}
// | {"line", "column", "mapping": [[KEY, VALUE]]}. Exit 0, or 65 for a document that is not YAML.
import Foundation
import Yams

func json(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

func render(_ node: Node) -> String {
    let mark = node.mark.map { "\"line\":\($0.line),\"column\":\($0.column)" } ?? "\"line\":0,\"column\":0"
    switch node {
    case .scalar(let scalar):
        return "{\(mark),\"scalar\":\(json(scalar.string)),\"quoted\":\(scalar.style != .plain && scalar.style != .any)}"
    case .sequence(let sequence):
        return "{\(mark),\"sequence\":[\(sequence.map(render).joined(separator: ","))]}"
    case .mapping(let mapping):
        return "{\(mark),\"mapping\":[\(mapping.map { "[\(render($0.key)),\(render($0.value))]" }.joined(separator: ","))]}"
    case .alias:
        return "{\(mark),\"alias\":true}"
    }
}

/// Yams gives an alias the anchored node itself, so a few nested aliases make a tree of billions
/// of nodes ("billion laughs"): 353 bytes took 30 s and 2 GB to write out. A layout has tens of
/// nodes; past `nodeBudget` the document is refused, at the node where the count ran out.
let nodeBudget = 100_000
func exceedsBudget(_ node: Node, _ remaining: inout Int) -> (line: Int, column: Int)? {
    remaining -= 1
    if remaining < 0 { return node.mark.map { ($0.line, $0.column) } ?? (0, 0) }
    switch node {
    case .sequence(let sequence):
        for child in sequence { if let mark = exceedsBudget(child, &remaining) { return mark } }
    case .mapping(let mapping):
        for pair in mapping {
            if let mark = exceedsBudget(pair.key, &remaining) ?? exceedsBudget(pair.value, &remaining) { return mark }
        }
    default: break
    }
    return nil
}

let input = FileHandle.standardInput.readDataToEndOfFile()
guard let text = String(data: input, encoding: .utf8) else {
    print("{\"error\":\"the file is not UTF-8 text\",\"line\":0,\"column\":0}")
    exit(65)
}
do {
    let node = try Yams.compose(yaml: text) ?? Node("", .implicit, .plain)
    var remaining = nodeBudget
    if let mark = exceedsBudget(node, &remaining) {
        print("{\"error\":\(json("the document expands to more than \(nodeBudget) nodes (through YAML aliases): write the layout out without nested aliases")),\"line\":\(mark.line),\"column\":\(mark.column)}")
        exit(65)
    }
    print("{\"node\":\(render(node))}")
} catch let error as YamlError {
    var line = 0, column = 0, problem = "\(error)"
    switch error {
    case .scanner(let context, let what, let mark, _), .parser(let context, let what, let mark, _), .composer(let context, let what, let mark, _):
        (line, column) = (mark.line, mark.column)
        problem = what + (context.map { " (\($0.text) at line \($0.mark.line))" } ?? "")
    case .duplicatedKeysInMapping(let duplicates, let context):
        (line, column) = (context.mark.line, context.mark.column)
        problem = "the key\(duplicates.count == 1 ? "" : "s") \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) appear\(duplicates.count == 1 ? "s" : "") twice in one mapping"
    case .reader(let what, _, _, _):
        problem = what
    default: break
    }
    print("{\"error\":\(json(problem)),\"line\":\(line),\"column\":\(column)}")
    exit(65)
} catch {
    print("{\"error\":\(json("\(error)")),\"line\":0,\"column\":0}")
    exit(65)
}
