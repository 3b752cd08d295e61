# Python: token formats, fetches and references (synthetic values)
headers = {"Authorization": f"token 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"} ⟦P:gh⟧
client = WebClient(token="xoxb-849916921080-8461145430260-GmOYt6uSZLldqckwX0wMJ2dW") ⟦P:slack⟧
session = boto3.Session(aws_access_key_id="AKIAJVVG6K4MVRURM4XF", aws_secret_access_key=os.environ["AWS_SECRET"]) ⟦P:aws⟧
blob = BlobClient.from_blob_url("https://acct.blob.core.windows.net/c/b.txt?sp=r&st=2026-01-01T00:00:00Z&se=2026-06-30T00:00:00Z&spr=https&sv=2022-11-02&sr=b&sig=rvfVfCSME15bmpvxQYby2%2BTcwIwJ7Ysq5jAylS7WZ2o%3D") ⟦P:sas⟧
app = msal.ConfidentialClientApplication(client_id, client_credential="scI3dtS_zmLurXQR4TK4pCb[GP@UaP3H", authority=authority) ⟦P:legacy⟧
subprocess.run("docker login -u ci --password %kc2mqVu3rMJ3i7 contoso.azurecr.io", shell=True) ⟦P:cmd⟧
secret = SecretClient(vault_url=VAULT_URL, credential=DefaultAzureCredential()).get_secret("app-secret").value
client_secret = client.get_secret("defender-app-secret").value
password = keyring.get_password("db", "app")
api_key_header = "X-Api-Key"
secret_name = "client-secret"
token = os.environ.get("GITHUB_TOKEN")
min_token_lib = "10.0.21510.2778"
client_secret = "keyvault:https://contoso.vault.azure.net/secrets/app-secret"
github_token = "env:GITHUB_TOKEN"
password = "credential:db-password"
token = "xoxb-not-a-real-token"
