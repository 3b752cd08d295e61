appSecret = '' # Paste your own app secret here
appSecret = 'ppj4Q~yPiYGF.Dm7ena8D5VfLDpgyyjV-w5HanSB' # Paste your own app secret here ⟦P:entra⟧
body = {'resource': resourceAppIdUri, 'client_id': appId, 'client_secret': appSecret, 'grant_type': 'client_credentials'}
body = {'client_id': appId, 'client_secret': 'eVRsfAGeAbP0VxNj', 'grant_type': 'client_credentials'} ⟦P:assign⟧
