# PowerShell: the same formats written other ways (synthetic values)
docker login -u ci --password="UB+WkNhBm2bd2A4" contoso.azurecr.io ⟦P:cmd⟧
$env:SLACK_TOKEN = 'xoxb-673653268086-1793754188200-vwusB3WT8DEKNp9K6DTTvxd1' ⟦P:slack⟧
& az login --service-principal --username $appId --password 'KIFTmxrrjtjVmd4xI0z*vy.4Zr9moEH:' --tenant $tenantId ⟦P:legacy⟧
$storage = New-AzStorageContext -StorageAccountName acct -SasToken '?sv=2022-11-02&sr=c&sp=rl&se=2026-12-31&sig=ZrTID8dO5WOc8eFsL93AwsNAwiEEyemmfwpU7naOZio%3D' ⟦P:sas⟧
$key = Get-AzStorageAccountKey -ResourceGroupName rg -Name acct | Select-Object -First 1 -ExpandProperty Value
