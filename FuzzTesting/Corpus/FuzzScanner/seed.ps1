$tenantId = '00000000-0000-0000-0000-000000000000' # Paste your own tenant ID here
$appId = '11111111-1111-1111-1111-111111111111' # Paste your own app ID here
$appSecret = '22222222-2222-2222-2222-222222222222' # Paste your own app secret here
$resourceAppIdUri = 'https://api.securitycenter.microsoft.com'
$body = [Ordered] @{ resource = "$resourceAppIdUri"; client_id = "$appId"; client_secret = "$appSecret"; grant_type = 'client_credentials' }
$appSecret = 'I6C3Q~PU8d0FZfWe7ihGyiRUIQfHOJMaidDn87XG' # Paste your own app secret here ⟦P:entra⟧
$body = [Ordered] @{ client_id = "$appId"; client_secret = "3@q@xbMtEPO6Uk%z"; grant_type = 'client_credentials' } ⟦P:assign⟧
