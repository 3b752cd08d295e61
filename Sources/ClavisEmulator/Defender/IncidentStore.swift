import Foundation
import Synchronization

/// The emulator's incidents, kept in the Defender shape (D-LIST §2.1–2.2,
/// https://learn.microsoft.com/defender-xdr/api-list-incidents) plus a few Graph-only properties
/// (G-INC) that the Defender shape leaves out. Values leave the store only as copies.
final class IncidentStore: Sendable {
    /// Keys kept for Graph only; the Defender shape drops them.
    static let graphOnly: Set<String> = ["tenantId", "systemTags", "description", "summary", "resolvingComment", "lastModifiedBy",
                                         "priorityScore", "graphStatus"]
    private let incidents: Mutex<[[String: Any]]>
    let tenantId: String

    init(count: Int, tenantId: String, now: Date = Date()) {
        self.tenantId = tenantId
        incidents = Mutex(Self.generate(count: count, tenantId: tenantId, now: now))
    }

    /// `count` incidents created over the last 30 days (ids in creation order). Timestamps carry
    /// 0–7 fractional digits varying per field and per incident; every fourth incident shares its
    /// `lastUpdateTime` exactly with the one before, and every fourth more shares only the second
    /// (research-15 §1: the emulator must not hand out unique, whole-second times).
    static func generate(count: Int, tenantId: String, now: Date) -> [[String: Any]] {
        guard count > 0 else { return [] }
        let start = ServiceTime(now.addingTimeInterval(-30 * 86400))
        let spacing = Int64(29 * 86400) * 10_000_000 / Int64(count)
        let statuses = ["Active", "InProgress", "Resolved", "Active", "Redirected"]
        let severities = ["High", "Medium", "Low", "Informational", "Medium", "UnSpecified"]
        let titles = ["Suspicious PowerShell command line", "Multi-stage incident involving Initial access", "Ransomware activity",
                      "Credential access via LSASS", "Phishing email delivered"]
        var previousUpdate: (ServiceTime, String)?
        return (1...count).map { index in
            let createdTicks = start.ticks + Int64(index) * spacing + Int64(index * 7_919_113 % 10_000_000)
            let created = ServiceTime(seconds: start.seconds, ticks: createdTicks)
            // Every fourth incident is updated after the next two were created, so they can share its time.
            let late = index % 4 == 0 ? 2 * spacing / 10_000_000 + 2 : 0
            let latest = ServiceTime(now.addingTimeInterval(-1))
            var updated = min(latest, ServiceTime(seconds: created.seconds + Int64(index % 5) * 13 * 60 + late, ticks: Int64(index * 3_141_593 % 10_000_000)))
            var updatedText = updated.text(digits: index % 8)
            if let previous = previousUpdate, index % 4 == 1 {
                (updated, updatedText) = previous  // exactly the same lastUpdateTime
            } else if let previous = previousUpdate, index % 4 == 2, previous.0.seconds >= created.seconds {
                updated = ServiceTime(seconds: previous.0.seconds, ticks: Int64(index * 2_718_281 % 10_000_000))  // the same second
                updatedText = updated.text(digits: (index + 5) % 8)
            }
            updated = ServiceTime(updatedText) ?? updated
            previousUpdate = (updated, updatedText)
            let createdText = created.text(digits: (index + 3) % 8)
            let status = statuses[index % statuses.count]
            let alertTime = created.text(digits: (index + 1) % 8)
            return [
                "incidentId": index, "redirectIncidentId": status == "Redirected" ? index + 100_000 : NSNull(),
                "incidentName": "\(titles[index % titles.count]) on host-\(index % 17)",
                "createdTime": createdText, "lastUpdateTime": updatedText,
                "assignedTo": index % 3 == 0 ? "secops@contoso.com" : NSNull(),
                "classification": "Unknown", "determination": "NotAvailable", "detectionSource": "MicrosoftDefenderForEndpoint",
                "status": status, "severity": severities[index % severities.count],
                "tags": index % 4 == 0 ? ["ransomware"] : [], "comments": [] as [Any],
                "alerts": [alert(index, title: titles[index % titles.count], time: alertTime, updated: updatedText, severity: severities[index % severities.count])],
                // Graph-only (G-INC); `graphStatus` is the Graph status when it has no Defender counterpart.
                "tenantId": tenantId, "systemTags": index % 10 == 0 ? ["Defender Experts"] : [],
                "description": index % 2 == 0 ? "Activity on host-\(index % 17) grouped by the emulator" : NSNull(),
                "summary": NSNull(), "resolvingComment": NSNull(), "lastModifiedBy": NSNull(),
                "priorityScore": index % 3 == 0 ? NSNull() : index % 101,
                "graphStatus": index % 50 == 7 ? "awaitingAction" : NSNull(),
            ] as [String: Any]
        }
    }

    /// An alert with every documented key (D-LIST §2.2); entities carry every key, null when not applicable.
    static func alert(_ index: Int, title: String, time: String, updated: String, severity: String) -> [String: Any] {
        let entityKeys = ["sha1", "sha256", "fileName", "filePath", "processId", "processCommandLine", "processCreationTime", "parentProcessId",
                          "parentProcessCreationTime", "ipAddress", "url", "accountName", "domainName", "userSid", "aadUserId",
                          "userPrincipalName", "mailboxDisplayName", "mailboxAddress", "clusterBy", "sender", "recipient", "subject",
                          "deliveryAction", "securityGroupId", "securityGroupName", "registryHive", "registryKey", "registryValueType",
                          "registryValue", "deviceId"]
        func entity(_ type: String, _ values: [String: Any]) -> [String: Any] {
            var object: [String: Any] = ["entityType": type]
            for key in entityKeys { object[key] = values[key] ?? NSNull() }
            return object
        }
        return [
            "alertId": "da\(String(format: "%016d", index))_\(index * 7919 % 1_000_000_000)", "incidentId": index,
            "serviceSource": "MicrosoftDefenderATP", "creationTime": time, "lastUpdatedTime": updated, "resolvedTime": NSNull(),
            "firstActivity": time, "lastActivity": updated, "title": title, "description": "Emulated alert \(index)",
            "category": ["Execution", "CredentialAccess", "InitialAccess", "Impact"][index % 4], "status": "New", "severity": severity,
            "investigationId": index % 2 == 0 ? index : NSNull(), "investigationState": index % 2 == 0 ? "Running" : "UnsupportedAlertType",
            "classification": NSNull(), "determination": NSNull(), "detectionSource": "WindowsDefenderAv",
            "assignedTo": index % 5 == 0 ? "Automation" : NSNull(), "actorName": NSNull(), "threatFamilyName": NSNull(),
            "mitreTechniques": ["T1059.001"],
            "devices": [["mdatpDeviceId": String(format: "%040x", index), "aadDeviceId": NSNull(), "deviceDnsName": "host-\(index % 17).contoso.local",
                         "osPlatform": "Windows11", "version": "22H2", "osProcessor": "x64", "osBuild": 22621, "healthStatus": "Active",
                         "riskScore": "Medium", "rbacGroupName": "Servers", "rbacGroupId": 42, "firstSeen": time]],
            "entities": [entity("Process", ["fileName": "powershell.exe", "processId": 4000 + index, "processCreationTime": time]),
                         entity("User", ["accountName": "user\(index % 9)", "domainName": "CONTOSO"])],
        ]
    }

    /// Runs `select` over the incidents under the lock and returns a copy of what it picked (only
    /// that is serialised — a page, not the whole store).
    func query(_ select: ([[String: Any]]) -> [[String: Any]]) -> [[String: Any]] {
        let data = incidents.withLock { list in (try? JSONSerialization.data(withJSONObject: select(list))) ?? Data("[]".utf8) }
        return (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
    }

    /// A copy of one incident.
    func incident(_ id: Int) -> [String: Any]? {
        let data = incidents.withLock { list -> Data? in
            list.first { $0["incidentId"] as? Int == id }.flatMap { try? JSONSerialization.data(withJSONObject: $0) }
        }
        return data.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
    }

    /// Applies validated changes (Defender names and values; `comment` appends) and stamps
    /// `lastUpdateTime` with 7 digits. Returns the updated copy, or nil for an unknown id.
    func update(_ id: Int, changes: Data, modifiedBy: String) -> [String: Any]? {
        let data = incidents.withLock { list -> Data? in
            // Decoded inside the lock, so no value crosses into the shared state from outside.
            let changes = (try? JSONSerialization.jsonObject(with: changes)) as? [String: Any] ?? [:]
            guard let index = list.firstIndex(where: { $0["incidentId"] as? Int == id }) else { return nil }
            let now = ServiceTime(Date()).text(digits: 7)
            for (key, value) in changes where key != "comment" { list[index][key] = value }
            if changes["status"] != nil { list[index]["graphStatus"] = NSNull() }  // a status set by the API replaces awaitingAction
            if let comment = changes["comment"] as? String {
                var comments = list[index]["comments"] as? [Any] ?? []
                comments.append(["comment": comment, "createdBy": modifiedBy, "createdTime": now])
                list[index]["comments"] = comments
            }
            list[index]["lastUpdateTime"] = now
            list[index]["lastModifiedBy"] = modifiedBy
            return try? JSONSerialization.data(withJSONObject: list[index])
        }
        return data.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
    }

    /// Newest first — `createdTime` descending, ties by id descending — whatever the client asks
    /// (D-LIST: "The most recent incidents are displayed at the top of the list"; no `$orderby`).
    static func newestFirst(_ items: [[String: Any]]) -> [[String: Any]] {
        let floor = ServiceTime(seconds: 0, ticks: 0)
        return items.sorted { a, b in
            let x = (a["createdTime"] as? String).flatMap(ServiceTime.init) ?? floor, y = (b["createdTime"] as? String).flatMap(ServiceTime.init) ?? floor
            return x != y ? x > y : (a["incidentId"] as? Int ?? 0) > (b["incidentId"] as? Int ?? 0)
        }
    }

    /// The Defender shape of a stored incident.
    static func defenderShape(_ incident: [String: Any]) -> [String: Any] {
        incident.filter { !graphOnly.contains($0.key) }
    }
}
