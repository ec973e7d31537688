import Foundation
import Hummingbird

/// The ceiling for `tools/bench-http.sh`: a bare Hummingbird server that
/// decodes a JSON body and encodes it back, on the same machine as the engine.
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18_090
let router = Router()
router.post("/echo") { request, context -> Response in
    let body = try await request.body.collect(upTo: 64 << 10)
    let value = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
    let data = try JSONSerialization.data(withJSONObject: value)
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
