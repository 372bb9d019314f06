# Le texte de Tandem que lisent les gens, en français (canadien, sans régionalismes).
# Mêmes identifiants et mêmes variables que ../en/.

# Utilisé par les tests du catalogue (choix du pluriel).
i18n-self-test = { $count ->
    [one] { $count } fichier
   *[other] { $count } fichiers
}

## La ligne de commande (src/main.rs)
cli-error = erreur : { $message }
