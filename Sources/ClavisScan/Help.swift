/// SARIF help per detector: how to move the secret into a reference.
enum Help {
    static let generic = """
        Hardcoded secret. Rotate it, store the new value (`clavis secret set keyring:APP/NAME`, or in Azure Key Vault), and put a \
        reference in its place: `keyring:APP/NAME`, `keyvault:https://VAULT.vault.azure.net/secrets/NAME`, `env:NAME` or \
        `credential:NAME`, resolved at run time (SecretResolver, `clavis run`). See docs/references.md.
        """
    static let entra = """
        Entra ID client secret. Delete it under the app registration's Certificates & secrets and create a new one (better: a \
        certificate or managed identity). Store it with `clavis secret set keyvault:https://VAULT.vault.azure.net/secrets/NAME` \
        (or `keyring:APP/client-secret`) and configure that reference instead of the value. See docs/references.md.
        """
    static let github = """
        GitHub token. Revoke it (Settings → Developer settings, or the organization's token settings), create a new one, store it \
        with `clavis secret set keyring:github/NAME` and reference `keyring:github/NAME`; in Actions use `${{ secrets.NAME }}` or \
        `GITHUB_TOKEN`. See docs/references.md.
        """
    static let slack = """
        Slack token. Rotate it in the app's OAuth & Permissions page, store the new one with `clavis secret set keyring:slack/NAME` \
        (or in Key Vault) and reference `keyring:slack/NAME` or `env:SLACK_TOKEN` instead. See docs/references.md.
        """
    static let aws = """
        AWS access key id. Deactivate and delete the key pair in IAM; prefer role credentials (instance profiles, OIDC in CI). If a \
        key is unavoidable, store it with `clavis secret set keyring:aws/NAME` and reference it (or `env:AWS_ACCESS_KEY_ID` with \
        the value from a store). See docs/references.md.
        """
    static let sas = """
        Azure shared access signature or account key. Revoke it (rotate the account or namespace key, or the stored access policy), \
        then store the connection string or SAS with `clavis secret set keyvault:https://VAULT.vault.azure.net/secrets/NAME` and \
        reference that; better, use Entra ID (managed identity) instead of keys. See docs/references.md.
        """
    static let commandLine = """
        Password on a command line: it lands in shell history, CI logs and process listings. Rotate it and pass it on stdin from a \
        store, e.g. `clavis secret get keyring:registry/password | docker login -u USER --password-stdin`, or inject it with \
        `clavis run --env PASSWORD=keyring:APP/NAME -- CMD`. See docs/references.md.
        """
    static let file = """
        Private key in a source file. Rotate the key pair, keep the private key out of the repository (a file outside the tree \
        referenced as `dir:/PATH#NAME`, an `age:` store, or `keyring:`), and reference it. See docs/references.md.
        """
}
