import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// The emulator's Graph application routes against Microsoft's documented shapes
/// (microsoft-graph-docs-contrib v1.0: `api/application-get.md`, `api/application-addpassword.md`,
/// `api/application-removepassword.md`, `resources/passwordcredential.md`) and Entra's answers to
/// expired and not-yet-replicated secrets (entra-docs `reference-error-codes`: AADSTS7000222,
/// AADSTS7000215).
@Suite struct ApplicationRoutesTests {
    func send(_ emulator: RunningEmulator, _ method: HTTPMethod, _ path: String, token: String, body: String? = nil) async throws -> HTTPReply {
        var headers = [("Authorization", "Bearer \(token)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await HTTPTransport(retry: .noRetries).send(method, emulator.baseURL + path, headers: headers, body: body.map { Array($0.utf8) })
    }

    @Test func getAddAndRemoveHaveTheDocumentedShapes() async throws {
        try await R.withEmulator(replicationMilliseconds: 0) { emulator in
            let token = try await R.graphToken(emulator)
            // GET by appId, with $select (application-get.md example 2).
            let byAppId = try await send(emulator, .GET, "/v1.0/applications(appId='\(R.rotator)')?$select=id,appId,passwordCredentials", token: token)
            #expect(byAppId.status == 200)
            let object = try #require(byAppId.jsonObject)
            #expect(object["@odata.context"] as? String == "https://graph.microsoft.com/v1.0/$metadata#applications(id,appId,passwordCredentials)/$entity")
            #expect(object["displayName"] == nil)  // not selected
            let id = try #require(object["id"] as? String)
            let listed = try #require((object["passwordCredentials"] as? [[String: Any]])?.first)
            #expect(listed["keyId"] as? String == R.initialKeyId)
            #expect(listed["hint"] as? String == String(R.initial.prefix(3)))
            #expect(listed["secretText"] is NSNull)  // never a value outside addPassword's reply
            #expect(Set(listed.keys) == ["customKeyIdentifier", "displayName", "endDateTime", "hint", "keyId", "secretText", "startDateTime"])
            // GET by object id; percent-encoded quotes as some clients send them.
            #expect(try await send(emulator, .GET, "/v1.0/applications/\(id)", token: token).jsonObject?["appId"] as? String == R.rotator)
            #expect(try await send(emulator, .GET, "/v1.0/applications(appId=%27\(R.rotator)%27)", token: token).status == 200)
            // addPassword, both address forms; the reply carries secretText once.
            let added = try await send(emulator, .POST, "/v1.0/applications/\(id)/addPassword", token: token,
                                       body: #"{"passwordCredential":{"displayName":"first","endDateTime":"2030-01-01T00:00:00Z"}}"#)
            #expect(added.status == 200)
            let credential = try #require(added.jsonObject)
            let secretText = try #require(credential["secretText"] as? String)
            #expect(secretText.count >= 16 && secretText.count <= 64)
            #expect(credential["hint"] as? String == String(secretText.prefix(3)))
            #expect((credential["endDateTime"] as? String)?.hasPrefix("2030-01-01T00:00:00") == true)
            #expect(credential["displayName"] as? String == "first")
            let second = try await send(emulator, .POST, "/v1.0/applications(appId='\(R.rotator)')/addPassword", token: token)
            #expect(second.status == 200)  // the body is optional
            let secondKey = try #require(second.jsonObject?["keyId"] as? String)
            #expect(try await R.tokenStatus(emulator, secret: secretText).status == 200)
            // removePassword: 204, and the secret stops working.
            let keyId = try #require(credential["keyId"] as? String)
            let removed = try await send(emulator, .POST, "/v1.0/applications/\(id)/removePassword", token: token, body: #"{"keyId":"\#(keyId)"}"#)
            #expect(removed.status == 204)
            #expect(try await R.tokenStatus(emulator, secret: secretText).codes == [7000215])
            #expect(try await send(emulator, .POST, "/v1.0/applications(appId='\(R.rotator)')/removePassword", token: token,
                                   body: #"{"keyId":"\#(secondKey)"}"#).status == 204)
            let again = try await send(emulator, .POST, "/v1.0/applications/\(id)/removePassword", token: token, body: #"{"keyId":"\#(keyId)"}"#)
            #expect(again.status == 400)
            #expect(emulator.state.passwordCredentials(tenant: R.tenant, appId: R.rotator).map(\.keyId) == [R.initialKeyId])
        }
    }

    @Test func permissionsFollowTheDocs() async throws {
        try await R.withEmulator(replicationMilliseconds: 0) { emulator in
            // No Application.* role: 403 Authorization_RequestDenied, as Graph answers.
            let none = try await R.graphToken(emulator, app: R.unpermitted)
            let refused = try await send(emulator, .POST, "/v1.0/applications(appId='\(R.unpermitted)')/addPassword", token: none)
            #expect(refused.status == 403)
            let error = try #require(refused.jsonObject?["error"] as? [String: Any])
            #expect(error["code"] as? String == "Authorization_RequestDenied")
            #expect(error["message"] as? String == "Insufficient privileges to complete the operation.")
            #expect((error["innerError"] as? [String: Any])?["request-id"] is String)
            // OwnedBy on an application it does not own: refused too; on its own: allowed.
            let notOwner = try await R.graphToken(emulator, app: R.notOwner)
            #expect(try await send(emulator, .POST, "/v1.0/applications(appId='\(R.notOwner)')/addPassword", token: notOwner).status == 403)
            let rotator = try await R.graphToken(emulator)
            #expect(try await send(emulator, .GET, "/v1.0/applications(appId='\(R.soon)')", token: rotator).status == 403)
            // Application.Read.All reads any application but cannot add.
            let reader = try await R.graphToken(emulator, app: R.soon)
            #expect(try await send(emulator, .GET, "/v1.0/applications(appId='\(R.rotator)')", token: reader).status == 200)
            #expect(try await send(emulator, .POST, "/v1.0/applications(appId='\(R.soon)')/addPassword", token: reader).status == 403)
            // Unknown application: 404 Request_ResourceNotFound.
            let missing = try await send(emulator, .GET, "/v1.0/applications(appId='00000000-0000-4000-8000-000000000000')", token: rotator)
            #expect(missing.status == 404)
            #expect((missing.jsonObject?["error"] as? [String: Any])?["code"] as? String == "Request_ResourceNotFound")
            // No token: 401.
            #expect(try await send(emulator, .GET, "/v1.0/applications(appId='\(R.rotator)')", token: "x").status == 401)
            #expect(emulator.state.passwordCredentials(tenant: R.tenant, appId: R.notOwner).count == 1)
        }
    }

    /// The replication delay is 4 s: a 1.5 s delay had passed on a loaded CI machine before the
    /// first "not replicated yet" request was answered.
    @Test func newSecretsReplicateAndOldOnesExpire() async throws {
        try await R.withEmulator(replicationMilliseconds: 4000) { emulator in
            let token = try await R.graphToken(emulator)
            let added = try await send(emulator, .POST, "/v1.0/applications(appId='\(R.rotator)')/addPassword", token: token)
            let secret = try #require(added.jsonObject?["secretText"] as? String)
            #expect(try await R.tokenStatus(emulator, secret: secret).codes == [7000215])  // not replicated yet
            try await Task.sleep(for: .milliseconds(4200))
            #expect(try await R.tokenStatus(emulator, secret: secret).status == 200)
            // A secret past its endDateTime: AADSTS7000222.
            let past = Date().addingTimeInterval(-60)
            let expiring = try await send(emulator, .POST, "/v1.0/applications(appId='\(R.rotator)')/addPassword", token: token,
                                          body: #"{"passwordCredential":{"startDateTime":"\#(R.iso(past.addingTimeInterval(-3600)))","endDateTime":"\#(R.iso(past))"}}"#)
            let expired = try #require(expiring.jsonObject?["secretText"] as? String)
            try await Task.sleep(for: .milliseconds(4200))
            let answer = try await R.tokenStatus(emulator, secret: expired)
            #expect(answer.status == 401 && answer.codes == [7000222])
        }
    }
}
