#!/bin/sh
# Token formats, SAS signatures and passwords on command lines (synthetic values)
curl -H "Authorization: Bearer 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" https://api.github.com/user ⟦P:gh⟧
git clone https://x-access-token:ghs_T1k2jPtYPMz6NKeejYoZRZVq8u4gtv2QMCJg@github.com/contoso/app.git ⟦P:gh⟧
gh auth login --with-token <<< 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 ⟦P:gh⟧
curl -H "Authorization: Bearer xoxb-485015909690-6548474775654-rpq7oVoxddlCLnlaM3iPPjPa" https://slack.com/api/chat.postMessage ⟦P:slack⟧
curl -d "token=xoxp-84932717069-01378752296-7839074726789-9a860abf65404472d3ab45cc6404700e&channel=C024BE91L" https://slack.com/api/chat.postMessage ⟦P:slack⟧
aws configure set aws_access_key_id AKIAOYBGXTDHR4O6JXBB ⟦P:aws⟧
azcopy copy ./data "https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rwl&se=2026-12-31T00:00:00Z&st=2026-01-01T00:00:00Z&spr=https&sig=5%2Bw0HngDLVKQxgFkBOXJPMzb1fSW%2BRk2VM319RmQbgc%3D" ⟦P:sas⟧
docker login -u deploy -p 6M#!VP7tvBsdSY5 contoso.azurecr.io ⟦P:cmd⟧
docker login --username deploy --password j!^Tk+QE4S#1XM0 contoso.azurecr.io ⟦P:cmd⟧
helm registry login contoso.azurecr.io --username deploy --password=9uISSEZJ2Ckx0z4 ⟦P:cmd⟧
mysql -u root -pzYBo0%PxfiI!op3 -h db.internal ⟦P:cmd⟧
az login --service-principal -u http://contoso-app -p Zo3##V3DCfRRrs5 --tenant contoso.onmicrosoft.com ⟦P:cmd⟧
dotnet nuget add source https://pkgs.contoso.io/v3/index.json --username ci --password:oa9V1614Q+wQ%z5 ⟦P:cmd⟧
podman login quay.io -u bot -p:c!zUPN^SLpwQUu8 ⟦P:cmd⟧
echo "$REGISTRY_PASSWORD" | docker login -u deploy --password-stdin contoso.azurecr.io
docker login -u deploy -p "$REGISTRY_PASSWORD" contoso.azurecr.io
docker login -u deploy -p ${{ secrets.REGISTRY_PASSWORD }} contoso.azurecr.io
docker run -p 8080:80 nginx:1.27
mysql -u root -p -h db.internal
sqlcmd -S db.internal -U sa -P "$SA_PASSWORD"
./configure --password-file=/run/secrets/pw
TOKEN=$(az keyvault secret show --vault-name contoso-kv --name gh-token --query value -o tsv)
export GITHUB_TOKEN=$(clavis secret get keyring:github/ci)
PASSWORD=$(secret-tool lookup service db user app)
DB_PASSWORD=$(vault kv get -field=password secret/db)
curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user
curl -H "Authorization: Bearer ghp_70IIQq6pOfoeEPsNmACWO3YuUX99yo03RLuA" https://api.github.com/user
SLACK_TOKEN=xoxb-your-bot-token
azcopy copy ./data "https://acct.blob.core.windows.net/c?$SAS"
az storage container generate-sas --name c --permissions r --expiry 2026-12-31 --account-name acct -o tsv
git config --global credential.helper store
