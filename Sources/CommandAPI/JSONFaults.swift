import CommandEngine
import EventStore
import Foundation

/// Faults in command JSON that Foundation's decoder reports wrongly or not
/// at all, found by reading the bytes again after the decoder has.
extension CommandEnvelope {
    /// `["items", "[1]", "goodsId"]` as `items[1].goodsId`.
    static func fieldName(_ path: [String]) -> String {
        path.reduce(into: "") { name, part in name += (name.isEmpty || part.hasPrefix("[") ? "" : ".") + part }
    }

    /// RFC 8259 leaves an object that repeats a name to each parser:
    /// Foundation's decoder keeps one of them silently, a proxy or a client
    /// library in front of us may keep the other. A command that repeats a
    /// key is refused, naming it, instead of acting on a guess.
    enum DuplicateKey {
        static func fault(_ path: [String], under root: String? = nil) -> EngineError {
            let field = fieldName(path)
            let named = root.map { "\($0).\(field)" } ?? field
            return EngineError(.duplicateKey, "\(named) appears twice in one object", details: ["field": field])
        }

        /// The path to the first key repeated within one object (`["data", "items", "[1]", "goodsId"]`), or nil.
        /// `json` has been decoded already, so it is valid JSON.
        static func first(in json: Data) -> [String]? {
            json.withUnsafeBytes { first(in: $0.bindMemory(to: UInt8.self)) }
        }

        /// An object or array being read: the keys it has shown, and the name of the value being read in it.
        private struct Level {
            let isObject: Bool
            var expectingKey: Bool
            var name: String
            var index = 0
            var keys: Set<String> = []
        }

        private static func first(in bytes: UnsafeBufferPointer<UInt8>) -> [String]? {
            var stack: [Level] = []
            var at = 0
            while at < bytes.count {
                switch bytes[at] {
                case UInt8(ascii: "{"):
                    stack.append(Level(isObject: true, expectingKey: true, name: ""))
                case UInt8(ascii: "["):
                    stack.append(Level(isObject: false, expectingKey: false, name: "[0]"))
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    _ = stack.popLast()
                case UInt8(ascii: ",") where !stack.isEmpty:
                    let top = stack.count - 1
                    if stack[top].isObject {
                        stack[top].expectingKey = true
                    } else {
                        stack[top].index += 1
                        stack[top].name = "[\(stack[top].index)]"
                    }
                case UInt8(ascii: "\""):
                    let start = at + 1
                    var escaped = false
                    at += 1
                    while at < bytes.count, bytes[at] != UInt8(ascii: "\"") {
                        if bytes[at] == UInt8(ascii: "\\") { escaped = true; at += 1 }
                        at += 1
                    }
                    guard let top = stack.indices.last, stack[top].isObject, stack[top].expectingKey else { break }
                    let raw = UnsafeBufferPointer(rebasing: bytes[start..<min(at, bytes.count)])
                    let key =
                        escaped
                        ? (try? JSONDecoder().decode(String.self, from: Data([UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")])))
                            ?? String(decoding: raw, as: UTF8.self) : String(decoding: raw, as: UTF8.self)
                    guard stack[top].keys.insert(key).inserted else { return stack.dropLast().map(\.name) + [key] }
                    stack[top].expectingKey = false
                    stack[top].name = key
                default:
                    break
                }
                at += 1
            }
            return nil
        }
    }

    /// Foundation's `JSONDecoder` reports a number that does not fit the
    /// integer it is read into (`1.5`, `1e30`, 2⁶⁴) as "not valid JSON",
    /// with no field. No command field is fractional, so when the bytes
    /// are valid JSON after all, the first number that is not a 64-bit
    /// whole number is the field at fault.
    enum NumberFault {
        static func first(in json: Data, under root: String?) -> EngineError? {
            guard var value = try? JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed]) else { return nil }
            if let root {
                guard let inner = (value as? [String: Any])?[root] else { return nil }
                value = inner
            }
            guard let path = path(to: value, under: []) else { return nil }
            let field = fieldName(path)
            let named = field.isEmpty ? "data" : "data.\(field)"
            return EngineError(
                .wrongType, "\(named) must be a whole number that fits in 64 bits",
                details: ["field": field.isEmpty ? "data" : field])
        }

        /// The path to the first such number, keys in sorted order (a JSON object's own order is not kept).
        private static func path(to value: Any, under path: [String]) -> [String]? {
            switch value {
            case let object as [String: Any]:
                for key in object.keys.sorted() {
                    if let found = self.path(to: object[key] as Any, under: path + [key]) { return found }
                }
                return nil
            case let array as [Any]:
                for (index, element) in array.enumerated() {
                    if let found = self.path(to: element, under: path + ["[\(index)]"]) { return found }
                }
                return nil
            case let number as NSNumber:
                return isWhole64(number) ? nil : path
            default:
                return nil
            }
        }

        private static func isWhole64(_ number: NSNumber) -> Bool {
            if number is NSDecimalNumber { return false }  // beyond what a Double or a 64-bit integer holds
            switch String(cString: number.objCType) {
            case "d", "f": return Int64(exactly: number.doubleValue) != nil
            case "Q": return number.uint64Value <= UInt64(Int64.max)
            default: return true
            }
        }
    }
}
