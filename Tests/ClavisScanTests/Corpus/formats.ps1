# PowerShell: token formats, fetches and references (synthetic values)
$clientId = '6f1c0e57-3b2a-4c8d-9e0f-1a2b3c4d5e6f'
$headers = @{ Authorization = "Bearer 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" } ⟦P:gh⟧
Invoke-RestMethod -Uri "https://slack.com/api/chat.postMessage" -Headers @{ Authorization = "Bearer xoxp-57583526653-81590416195-4438504315385-652ba78403dcc8f63fd9078b626a4f18" } ⟦P:slack⟧
$sas = "?sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2026-12-31T00:00:00Z&spr=https&sig=mEef03JJbxCQR17YHSGryR5K8x22qTTD4gpTyVsT0Og%3D" ⟦P:sas⟧
docker login contoso.azurecr.io -u ci -p 2RJ^GhMi8SNBmE3 ⟦P:cmd⟧
$cred = 'RyaCZzGfRtmu9g53aVMk[MYSo[FORuzP' ⟦P:legacy⟧
Set-AWSCredential -AccessKey AKIA5ONH4AKEIRIDC7WC -SecretKey $env:AWS_SECRET_ACCESS_KEY ⟦P:aws⟧
$appSecret = Get-AzKeyVaultSecret -VaultName 'contoso-kv' -Name 'app-secret' -AsPlainText
$secret = (Get-AzKeyVaultSecret -VaultName $vault -Name $name).SecretValue
$token = Get-Secret -Name GitHubToken -AsPlainText
$password = Read-Host -AsSecureString
$clientSecret = az keyvault secret show --vault-name contoso-kv --name app-secret --query value -o tsv
$env:GITHUB_TOKEN = $token
$tokenLibraryVersion = '10.0.21510.2778'
$apiKeyHeader = 'Ocp-Apim-Subscription-Key'
$secretName = "app-secret"
$password = 'keyring:contoso/db'
